// deploy/images/*.Dockerfile built, unchanged, with podman and local base images (test/images/:
// no registry is reachable here), then checked without `podman run` (which does not work here): the
// image's configuration is what the Dockerfile says (User 65532:65532, Entrypoint, ExposedPorts),
// its entry point is an executable file in the image, and that binary answers --version both on the
// host and inside the image's own root (its glibc, as user 65532, in a private mount namespace).
// A first run makes the base images and builds (minutes); later runs find them in the cache.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { type BaseImages, baseImagesUnavailable, ensureBaseImages } from "../images/base-images.ts";
import { ensureImage } from "../images/build.ts";
import { must, run } from "../images/podman.ts";

const ROOT = resolve(import.meta.dir, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const NAMES = ["agent", "controller"];
const BUILD_TIMEOUT = 15 * 60_000;
const log = (line: string) => console.error(`[images] ${line}`);

/** The final stage's USER, EXPOSE and ENTRYPOINT, as the image configuration should carry them. */
function shippedConfig(dockerfile: string): { user: string; ports: string[]; entrypoint: string[] } {
  const lines = readFileSync(dockerfile, "utf8").split("\n").map((l) => l.trim());
  const last = lines.slice(lines.findLastIndex((l) => /^FROM\s/i.test(l)));
  const arg = (keyword: string) => last.filter((l) => l.toUpperCase().startsWith(`${keyword} `)).map((l) => l.slice(keyword.length).trim());
  return {
    user: arg("USER").at(-1) ?? "",
    ports: arg("EXPOSE").flatMap((l) => l.split(/\s+/)).map((p) => (p.includes("/") ? p : `${p}/tcp`)),
    entrypoint: JSON.parse(arg("ENTRYPOINT").at(-1) ?? "[]") as string[],
  };
}

/** Runs the image's entry point with `args` chrooted into a writable overlay of its mounted root, as `user`, with /proc (Bun reads /proc/self/exe). */
function runInImageRoot(mounted: string, user: string, entrypoint: string[], args: string[]) {
  const scratch = mkdtempSync(join(tmpdir(), "es-mtls-image-root-"));
  try {
    const script = 'set -e; mkdir -p "$2/u" "$2/w" "$2/root"; mount -t overlay overlay -o "lowerdir=$1,upperdir=$2/u,workdir=$2/w" "$2/root"; mkdir -p "$2/root/proc"; mount -t proc proc "$2/root/proc"; root=$2/root; user=$3; shift 3; exec chroot --userspec="$user" "$root" "$@"';
    // A private mount namespace: both mounts vanish with the process, nothing is left on the host.
    return run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", mounted, scratch, user, ...entrypoint, ...args]);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

const unavailable = baseImagesUnavailable();
if (unavailable) {
  test.skip(`deploy/images built with podman: skipped, ${unavailable}`, () => {});
} else {
  describe("deploy/images built with podman --isolation=chroot and local base images (no registry)", () => {
    let bases: BaseImages | undefined;
    const baseImages = () => (bases ??= ensureBaseImages(log));

    test("the local base images: the runtime one holds glibc and no shell, runs as 65532; the build one has the pinned Bun", () => {
      const { runtime, build } = baseImages();
      expect(must("podman", ["image", "inspect", "--format", "{{.Config.User}}", runtime]).trim()).toBe("65532:65532");
      const root = must("podman", ["image", "mount", runtime]).trim();
      try {
        expect(statSync(join(root, "usr/lib", process.arch === "arm64" ? "aarch64-linux-gnu" : "x86_64-linux-gnu", "libc.so.6")).isFile()).toBe(true);
        expect(statSync(join(root, "usr/bin/sh"), { throwIfNoEntry: false })).toBeUndefined();
      } finally {
        must("podman", ["image", "unmount", runtime]);
      }
      const pinned = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies.bun;
      const buildRoot = must("podman", ["image", "mount", build]).trim();
      try {
        expect(must(join(buildRoot, "usr/local/bin/bun"), ["--version"]).trim()).toBe(pinned!);
      } finally {
        must("podman", ["image", "unmount", build]);
      }
    }, BUILD_TIMEOUT);

    for (const name of NAMES) {
      test(`${name}: builds from its Dockerfile (or the cache); User 65532:65532, Entrypoint and ExposedPorts as the Dockerfile says; the entry point is an executable binary that answers --version on the host and in the image's root as 65532`, () => {
        const image = ensureImage(name, baseImages(), log);
        const shipped = shippedConfig(image.dockerfile);
        const config = JSON.parse(must("podman", ["image", "inspect", "--format", "{{json .Config}}", image.ref])) as { User?: string; Entrypoint?: string[]; ExposedPorts?: Record<string, object> };
        expect(shipped.user).toBe("65532:65532");
        expect(config.User).toBe(shipped.user);
        expect(shipped.entrypoint).toEqual([`/usr/local/bin/es-mtls-${name}`]);
        expect(config.Entrypoint).toEqual(shipped.entrypoint);
        expect(Object.keys(config.ExposedPorts ?? {}).sort()).toEqual(shipped.ports.sort());

        const mounted = must("podman", ["image", "mount", image.ref]).trim();
        try {
          const binary = join(mounted, shipped.entrypoint[0]!);
          const st = statSync(binary);
          expect(st.isFile()).toBe(true);
          // 65532 owns nothing in the image: it runs the binary through the "others" bits.
          expect(st.mode & 0o005).toBe(0o005);
          const expected = `${basename(binary)} ${VERSION}`;
          expect(must(binary, ["--version"]).trim()).toBe(expected);
          const inImage = runInImageRoot(mounted, config.User!, shipped.entrypoint, ["--version"]);
          expect({ status: inImage.status, stdout: inImage.stdout.trim(), stderr: inImage.stderr }).toEqual({ status: 0, stdout: expected, stderr: "" });
        } finally {
          must("podman", ["image", "unmount", image.ref]);
        }
      }, BUILD_TIMEOUT);
    }
  });
}
