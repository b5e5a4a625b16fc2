# syntax=docker/dockerfile:1
# es-mtls controller: a `bun build --compile` binary on distroless, non-root.
# Build from the repository root:  docker build -f deploy/images/controller.Dockerfile -t es-mtls/controller .

# Base images as build arguments (a mirror, a pinned digest: --build-arg RUNTIME_IMAGE=…); the
# defaults are the upstream ones, and the build image's Bun is the version package.json pins.
ARG DEPS_IMAGE=node:22-bookworm-slim
ARG BUILD_IMAGE=oven/bun:1.4.5-debian
ARG RUNTIME_IMAGE=gcr.io/distroless/base-debian12:nonroot

# Dependencies exactly as package-lock.json pins them (npm ci), without dev dependencies or install scripts.
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
COPY controller ./controller
# One self-contained executable (runtime + bundled code) for the build platform's architecture.
RUN bun build --compile --minify --sourcemap ./controller/main.ts --outfile /out/es-mtls-controller

# base: glibc only, all a compiled Bun binary links against (libc, libpthread, libdl, libm; checked with ldd). :nonroot is UID/GID 65532.
FROM ${RUNTIME_IMAGE}
COPY --from=build /out/es-mtls-controller /usr/local/bin/es-mtls-controller
USER 65532:65532
# webhooks, intent API, health
EXPOSE 9443 8443 8080
ENTRYPOINT ["/usr/local/bin/es-mtls-controller"]
