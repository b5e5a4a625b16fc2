// The Go binaries the tests build (the control plane, helm, ECK's operator): cached outside the
// repository under <cache>/<name>/<key>/, the key a hash of everything that goes into the build, so
// only the first run on a machine pays for it (about 25 minutes of cold builds on 2 cores in all).
// The keys are byte for byte what each builder computed before this file existed (parts joined by
// NUL, SHA-256, 16 hex digits): a changed key rebuilds everything, so
// test/support/go-binary-cache.test.ts pins each builder's formula.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";

/** ES_MTLS_CACHE_DIR, else $XDG_CACHE_HOME/es-mtls, else ~/.cache/es-mtls. */
export function cacheBase(): string {
  return process.env.ES_MTLS_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "es-mtls");
}

/** Go's environment for the builds; GOTOOLCHAIN=local: fail fast instead of downloading another Go. */
export function goEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0", ...extra };
}

/** `go version`'s line (part of every key), or why Go cannot be run. */
export function goVersion(env: NodeJS.ProcessEnv = goEnv()): { version: string } | { missing: string } {
  const r = spawnSync("go", ["version"], { encoding: "utf8", env });
  if (r.error || r.status !== 0) return { missing: `go version failed: ${r.error ? String(r.error) : r.stderr.trim()}` };
  return { version: r.stdout.trim() };
}

/** The cache key of a build: its parts, in order, separated by NUL, hashed. */
export function cacheKey(parts: readonly (string | Uint8Array)[]): string {
  const h = createHash("sha256");
  parts.forEach((p, i) => {
    if (i > 0) h.update("\0");
    h.update(p);
  });
  return h.digest("hex").slice(0, 16);
}

export interface GoBuild {
  /** The cache folder's name under cacheBase(): "controlplane", "helm", "eck-operator". */
  name: string;
  key: string;
  /** The binary's file name in <cache>/<name>/<key>/. */
  binary: string;
  /** For the log and the failure: "helm v4.3.2". */
  what: string;
  /** The folder to run `go build` in, made on demand (helm's scratch module), and its clean-up. */
  workdir: () => { dir: string; cleanup?: () => void } | { missing: string };
  ldflags: string;
  /** The package to build, as `go build` takes it in workdir. */
  pkg: string;
  env: NodeJS.ProcessEnv;
}

/** The cached binary's path, built first when absent; or why it cannot be had. */
export function cachedGoBinary(b: GoBuild, log: (line: string) => void = () => {}): { path: string } | { missing: string } {
  const dir = join(cacheBase(), b.name, b.key);
  const bin = join(dir, b.binary);
  if (existsSync(bin)) return { path: bin };
  mkdirSync(dir, { recursive: true });
  log(`building ${b.what} into ${dir}; the first build takes minutes`);
  const started = Date.now();
  const work = b.workdir();
  if ("missing" in work) return work;
  try {
    const tmp = `${bin}.partial-${process.pid}`;
    const r = spawnSync("go", ["build", "-trimpath", "-ldflags", b.ldflags, "-o", tmp, b.pkg], {
      cwd: work.dir,
      env: b.env,
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0) return { missing: `building ${b.what} failed (exit ${r.status})` };
    // Rename last, so an interrupted build never leaves a half-written binary in the cache.
    renameSync(tmp, bin);
  } finally {
    work.cleanup?.();
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s (${(statSync(bin).size / 1e6).toFixed(0)} MB)`);
  return { path: bin };
}
