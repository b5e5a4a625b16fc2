# syntax=docker/dockerfile:1
# es-mtls agent: a `bun build --compile` binary on distroless, non-root.
# Build from the repository root:  docker build -f deploy/images/agent.Dockerfile -t es-mtls/agent .
# Injection runs the container as the workload's UID (1000 for the official Elasticsearch and Kibana
# images) with a read-only root filesystem; the binary writes only to its mounted volume.

FROM node:22-bookworm-slim AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM oven/bun:1.4.5-debian AS build
WORKDIR /src
COPY --from=deps /src/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY protocol ./protocol
COPY agent ./agent
RUN bun build --compile --minify --sourcemap ./agent/main.ts --outfile /out/es-mtls-agent

# base: glibc only, all a compiled Bun binary links against (libc, libpthread, libdl, libm; checked with ldd). :nonroot is UID/GID 65532.
FROM gcr.io/distroless/base-debian12:nonroot
COPY --from=build /out/es-mtls-agent /usr/local/bin/es-mtls-agent
USER 65532:65532
# health: /healthz /startupz /readyz /status /metrics
EXPOSE 8099
ENTRYPOINT ["/usr/local/bin/es-mtls-agent"]
