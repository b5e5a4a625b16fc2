// ECK's own Go module (github.com/elastic/cloud-on-k8s/v3, served by the Go module proxy): the
// source of the real operator (operator-binary.ts) and of ECK's CRDs for the tests, so nothing is
// read from outside the repository. `go mod download` puts it in the Go module cache (outside the
// repository, read-only); without Go or the proxy the tests that need it skip, saying why.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { goEnv } from "../support/go-binary-cache.ts";

export const ECK_MODULE = "github.com/elastic/cloud-on-k8s/v3";
/** The ECK release the tests run (v3.3.x is not served by the proxy: README, "Installing next to ECK"). */
export const ECK_VERSION = "v3.5.0";

interface EckModule {
  dir: string;
  /** The module's checksum (go.sum's h1:), part of the operator build's cache key. */
  sum: string;
}

let found: EckModule | string | undefined;

/** `go mod download -json` reports a failure in its JSON answer's Error. */
function downloadError(stdout: string): string | undefined {
  try {
    return (JSON.parse(stdout) as { Error?: string }).Error;
  } catch {
    return undefined;
  }
}

/** The module, or why it cannot be had (once per process). */
export function eckModule(): EckModule | string {
  if (found !== undefined) return found;
  // Outside any go.mod, so no project's module graph is touched.
  const r = spawnSync("go", ["mod", "download", "-json", `${ECK_MODULE}@${ECK_VERSION}`], { cwd: tmpdir(), encoding: "utf8", env: goEnv(), timeout: 300_000 });
  if (r.error || r.status !== 0) {
    found = `go mod download ${ECK_MODULE}@${ECK_VERSION} failed: ${r.error ? String(r.error) : (downloadError(r.stdout) ?? r.stderr.trim())}`;
  } else {
    const info = JSON.parse(r.stdout) as { Dir?: string; Sum?: string; Error?: string };
    found = info.Dir && info.Sum ? { dir: info.Dir, sum: info.Sum } : `go mod download ${ECK_MODULE}@${ECK_VERSION}: ${info.Error ?? "no Dir in its answer"}`;
  }
  return found;
}

/** ECK's CRDs as it ships them (`config/crds/v1/all-crds.yaml`); undefined after saying why `skipping` is skipped. */
export function eckCrdsFile(skipping: string): string | undefined {
  const m = eckModule();
  const file = typeof m === "string" ? undefined : join(m.dir, "config", "crds", "v1", "all-crds.yaml");
  if (file && existsSync(file)) return file;
  console.error(`skipping ${skipping}: ${typeof m === "string" ? m : `${file} is absent`}`);
  return undefined;
}
