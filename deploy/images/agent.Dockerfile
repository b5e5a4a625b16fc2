# syntax=docker/dockerfile:1
# es-mtls agent: a `bun build --compile` binary on distroless, non-root.
# Build from the repository root:  docker build -f deploy/images/agent.Dockerfile -t es-mtls/agent .
# Injection runs the container as the workload's UID (1000 for the official Elasticsearch and Kibana
# images) with a read-only root filesystem; the binary writes only to its mounted volume.

# Base images as build arguments (a mirror, a pinned digest: --build-arg RUNTIME_IMAGE=…); the
# defaults are the upstream ones, and the build image's Bun is the version package.json pins.
ARG DEPS_IMAGE=node:22-bookworm-slim
ARG BUILD_IMAGE=oven/bun:1.4.5-debian
ARG RUNTIME_IMAGE=gcr.io/distroless/base-debian12:nonroot

FROM ${DEPS_IMAGE} AS deps
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM ${BUILD_IMAGE} AS build
WORKDIR /src
COPY --from=deps /src/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY common ./common
COPY protocol ./protocol
COPY agent ./agent
RUN bun build --compile --minify --sourcemap ./agent/main.ts --outfile /out/es-mtls-agent

# base: glibc only, all a compiled Bun binary links against (libc, libpthread, libdl, libm; checked with ldd). :nonroot is UID/GID 65532.
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/es-mtls-agent /usr/local/bin/es-mtls-agent
USER 65532:65532
# health: /healthz /startupz /readyz /status /metrics
EXPOSE 8099
ENTRYPOINT ["/usr/local/bin/es-mtls-agent"]
