// Finds or builds `helm` from its Go module (helm.sh/helm/v4, served by the Go module proxy), as
// test/eck/operator-binary.ts does ECK's operator: cached outside the repository
// (test/support/go-binary-cache.ts), keyed by everything that goes into it (module checksum, Go
// version, flags), so only the first run on a machine pays for the build. Without Go or the proxy
// the chart's tests skip, saying why.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { cacheKey, cachedGoBinary, goEnv, goVersion } from "../support/go-binary-cache.ts";

const HELM_MODULE = "helm.sh/helm/v4";
const HELM_VERSION = "v4.3.2";
// What helm's Makefile stamps for a tagged release (`helm version` reports it).
const LDFLAGS = [
  "-s -w",
  `-X ${HELM_MODULE}/internal/version.version=${HELM_VERSION}`,
  `-X ${HELM_MODULE}/internal/version.metadata=`,
  `-X ${HELM_MODULE}/internal/version.gitTreeState=clean`,
].join(" ");

function go(args: string[], cwd: string): { ok: true; stdout: string } | { ok: false; why: string } {
  const r = spawnSync("go", args, { cwd, encoding: "utf8", env: goEnv(), timeout: 300_000 });
  if (r.error || r.status !== 0) return { ok: false, why: `go ${args.join(" ")} failed: ${r.error ? String(r.error) : r.stderr.trim()}` };
  return { ok: true, stdout: r.stdout };
}

/** The build's cache key: helm's version, its module's checksum (go.sum's h1:), `go version`, the flags. */
export const helmCacheKey = (moduleSum: string, goVersionLine: string) => cacheKey([HELM_VERSION, moduleSum, goVersionLine, LDFLAGS]);

/** The binary's path, or why it cannot be had (no Go, no proxy, a failed build). */
export function ensureHelm(log: (line: string) => void = () => {}): { path: string } | { missing: string } {
  const version = goVersion();
  if ("missing" in version) return version;
  // Outside any go.mod, so no project's module graph is touched.
  const info = go(["mod", "download", "-json", `${HELM_MODULE}@${HELM_VERSION}`], tmpdir());
  if (!info.ok) return { missing: info.why };
  const sum = (JSON.parse(info.stdout) as { Sum?: string }).Sum;
  if (!sum) return { missing: `go mod download ${HELM_MODULE}@${HELM_VERSION}: no Sum in its answer` };
  return cachedGoBinary(
    {
      name: "helm",
      key: helmCacheKey(sum, version.version),
      binary: "helm",
      what: `helm ${HELM_VERSION}`,
      // A scratch module whose only requirement is helm: its go.sum is helm's own graph, resolved once.
      workdir: () => {
        const scratch = mkdtempSync(join(tmpdir(), "es-mtls-helm-build-"));
        const cleanup = () => rmSync(scratch, { recursive: true, force: true });
        writeFileSync(join(scratch, "go.mod"), `module es-mtls.test/helm\n\ngo 1.26.0\n`);
        const get = go(["get", "-tool", `${HELM_MODULE}/cmd/helm@${HELM_VERSION}`], scratch);
        if (!get.ok) {
          cleanup();
          return { missing: get.why };
        }
        return { dir: scratch, cleanup };
      },
      ldflags: LDFLAGS,
      pkg: `${HELM_MODULE}/cmd/helm`,
      env: goEnv(),
    },
    log,
  );
}

if (import.meta.main) {
  const r = ensureHelm((l) => console.error(l));
  if ("missing" in r) {
    console.error(r.missing);
    process.exit(1);
  }
  console.log(r.path);
}
