// Finds or builds `helm` from its Go module (helm.sh/helm/v4, served by the Go module proxy), as
// test/eck/operator-binary.ts does ECK's operator: cached outside the repository, keyed by
// everything that goes into it (module checksum, Go version, flags), so only the first run on a
// machine pays for the build. Without Go or the proxy the chart's tests skip, saying why.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { cacheRoot } from "../controlplane/binaries.ts";

const HELM_MODULE = "helm.sh/helm/v4";
const HELM_VERSION = "v4.3.2";
// What helm's Makefile stamps for a tagged release (`helm version` reports it).
const LDFLAGS = [
  "-s -w",
  `-X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}`,
  `-X ${HELM_MODULE}/internal/version.metadata=`,
  `-X ${HELM_MODULE}/internal/version.gitTreeState=clean`,
].join(" ");

// GOTOOLCHAIN=local: fail fast instead of downloading another Go.
const goEnv = (): NodeJS.ProcessEnv => ({ ...process.env, GOTOOLCHAIN: "local", CGO_ENABLED: "0" });

function go(args: string[], cwd: string): { ok: true; stdout: string } | { ok: false; why: string } {
  const r = spawnSync("go", args, { cwd, encoding: "utf8", env: goEnv(), timeout: 300_000 });
  if (r.error || r.status !== 0) return { ok: false, why: `go ${args.join(" ")} failed: ${r.error ? String(r.error) : r.stderr.trim()}` };
  return { ok: true, stdout: r.stdout };
}

/** The binary's path, or why it cannot be had (no Go, no proxy, a failed build). */
export function ensureHelm(log: (line: string) => void = () => {}): { path: string } | { missing: string } {
  const version = go(["version"], tmpdir());
  if (!version.ok) return { missing: version.why };
  // Outside any go.mod, so no project's module graph is touched.
  const info = go(["mod", "download", "-json", `${HELM_MODULE}@${HELM_VERSION}`], tmpdir());
  if (!info.ok) return { missing: info.why };
  const sum = (JSON.parse(info.stdout) as { Sum?: string }).Sum;
  if (!sum) return { missing: `go mod download ${HELM_MODULE}@${HELM_VERSION}: no Sum in its answer` };
  const key = createHash("sha256").update([HELM_VERSION, sum, version.stdout.trim(), LDFLAGS].join("\0")).digest("hex").slice(0, 16);
  const dir = join(dirname(cacheRoot()), "helm", key);
  const bin = join(dir, "helm");
  if (existsSync(bin)) return { path: bin };
  mkdirSync(dir, { recursive: true });
  log(`building helm ${HELM_VERSION} into ${dir}; the first build takes minutes`);
  const started = Date.now();
  // A scratch module whose only requirement is helm: its go.sum is helm's own graph, resolved once.
  const scratch = mkdtempSync(join(tmpdir(), "es-mtls-helm-build-"));
  try {
    writeFileSync(join(scratch, "go.mod"), `module es-mtls.test/helm\n\ngo 1.26.0\n`);
    const get = go(["get", "-tool", `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`], scratch);
    if (!get.ok) return { missing: get.why };
    const tmp = `${bin}.partial-${process.pid}`;
    const r = spawnSync("go", ["build", "-trimpath", "-ldflags", LDFLAGS, "-o", tmp, `${HELM_MODULE}/cmd/helm`], {
      cwd: scratch,
      env: goEnv(),
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0) return { missing: `building helm failed (exit ${r.status})` };
    // Rename last, so an interrupted build never leaves a half-written binary in the cache.
    renameSync(tmp, bin);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s (${(statSync(bin).size / 1e6).toFixed(0)} MB)`);
  return { path: bin };
}

if (import.meta.main) {
  const r = ensureHelm((l) => console.error(l));
  if ("missing" in r) {
    console.error(r.missing);
    process.exit(1);
  }
  console.log(r.path);
}
