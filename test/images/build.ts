// Builds deploy/images/<name>.Dockerfile as a user's `docker build` would, unchanged, with podman:
// `--isolation=chroot` (RUN steps work here without a container runtime's namespaces) and the local
// base images passed as the Dockerfile's build arguments, so nothing is pulled from a registry.
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { type BaseImages, baseImagesUnavailable, ensureBaseImages } from "./base-images.ts";
import { dockerfileSources, inputsKey } from "./cache.ts";
import { imageExists, imageId, must } from "./podman.ts";

const ROOT = resolve(import.meta.dir, "../..");

interface BuiltImage {
  ref: string;
  dockerfile: string;
  /** Seconds the build took, or undefined when the cache had the image. */
  seconds: number | undefined;
}

/** The image of deploy/images/<name>.Dockerfile, tagged with the key of everything that goes into it. */
export function ensureImage(name: string, bases: BaseImages, log: (line: string) => void = () => {}): BuiltImage {
  const dockerfile = join(ROOT, "deploy", "images", `${name}.Dockerfile`);
  const text = readFileSync(dockerfile, "utf8");
  // The Dockerfile, what it COPYs from the repository (package-lock.json among it) and the base
  // images by ID (the Bun and Node versions are theirs).
  const key = inputsKey([
    { text },
    ...dockerfileSources(text).map((source) => ({ path: join(ROOT, source), root: ROOT })),
    { text: [bases.deps, bases.build, bases.runtime].map(imageId).join(" ") },
  ]);
  const ref = `localhost/es-mtls/${name}:${key}`;
  if (imageExists(ref)) return { ref, dockerfile, seconds: undefined };
  const started = Date.now();
  log(`building ${ref} from deploy/images/${name}.Dockerfile`);
  const args = Object.entries({ DEPS_IMAGE: bases.deps, BUILD_IMAGE: bases.build, RUNTIME_IMAGE: bases.runtime }).flatMap(([k, v]) => ["--build-arg", `${k}=${v}`]);
  must("podman", ["build", "--isolation=chroot", "--pull=never", "-q", ...args, "-f", dockerfile, "-t", ref, ROOT]);
  const seconds = (Date.now() - started) / 1000;
  log(`built ${ref} in ${seconds.toFixed(1)} s`);
  return { ref, dockerfile, seconds };
}

/**
 * For tests that run an image where podman is present: the image of `name`, built or found in the
 * cache (a first run makes the base images and builds, minutes), or why there is none here.
 */
export function localImage(name: string, log: (line: string) => void = () => {}): { ref: string } | { unavailable: string } {
  const unavailable = baseImagesUnavailable();
  if (unavailable) return { unavailable };
  return { ref: ensureImage(name, ensureBaseImages(log), log).ref };
}
