// `npm run images`: builds the agent and controller images from deploy/images/ with podman and local
// base images (no registry needed), or finds them already built, and prints their names and sizes.
import { baseImagesUnavailable, ensureBaseImages } from "./base-images.ts";
import { ensureImage } from "./build.ts";
import { must } from "./podman.ts";

const unavailable = baseImagesUnavailable();
if (unavailable) {
  console.error(`cannot build the images: ${unavailable}`);
  process.exit(1);
}
const started = Date.now();
const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);
const bases = ensureBaseImages(log);
for (const name of ["agent", "controller"]) {
  const image = ensureImage(name, bases, log);
  // A stable name beside the keyed one, as the README's `docker build -t es-mtls/<name>` gives.
  must("podman", ["tag", image.ref, `localhost/es-mtls/${name}:latest`]);
  const size = must("podman", ["image", "inspect", "--format", "{{.Size}}", image.ref]).trim();
  console.log(`${image.ref} (also localhost/es-mtls/${name}:latest) ${(Number(size) / 1e6).toFixed(0)} MB ${image.seconds === undefined ? "cached" : `built in ${image.seconds.toFixed(1)} s`}`);
}
