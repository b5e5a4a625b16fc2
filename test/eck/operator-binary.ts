// Finds or builds the real ECK operator (`elastic-operator`) from its Go module, as
// test/controlplane/binaries.ts does the control plane: cached outside the repository, keyed by
// everything that goes into it (module checksum, Go version, flags), so only the first run on a
// machine pays for the build (about 5 minutes on 2 cores).
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";
import { cacheRoot } from "../controlplane/binaries.ts";
import { ECK_MODULE, ECK_VERSION, eckModule, goEnv } from "./module.ts";

// The version ECK's Makefile stamps (pkg/about): the operator reports and compares it.
const LDFLAGS = `-s -w -X ${ECK_MODULE}/pkg/about.version=${ECK_VERSION.replace(/^v/, "")}`;

/** The binary's path, or why it cannot be had (no Go, no proxy, a failed build). */
export function ensureEckOperator(log: (line: string) => void = () => {}): { path: string } | { missing: string } {
  const m = eckModule();
  if (typeof m === "string") return { missing: m };
  const go = spawnSync("go", ["version"], { encoding: "utf8", env: goEnv() });
  if (go.status !== 0) return { missing: `go version failed: ${go.stderr}` };
  const key = createHash("sha256").update([m.sum, go.stdout.trim(), LDFLAGS].join("\0")).digest("hex").slice(0, 16);
  const dir = join(dirname(cacheRoot()), "eck-operator", key);
  const bin = join(dir, "elastic-operator");
  if (existsSync(bin)) return { path: bin };
  mkdirSync(dir, { recursive: true });
  log(`building ECK's operator ${ECK_VERSION} into ${dir}; the first build takes minutes`);
  const started = Date.now();
  const tmp = `${bin}.partial-${process.pid}`;
  // In the module's own directory: its go.mod has replace directives, which `go install …@version` refuses.
  const r = spawnSync("go", ["build", "-trimpath", "-ldflags", LDFLAGS, "-o", tmp, "./cmd"], {
    cwd: m.dir,
    env: { ...goEnv(), GOFLAGS: "-mod=readonly" },
    stdio: ["ignore", "inherit", "inherit"],
  });
  if (r.status !== 0) return { missing: `building ECK's operator failed (exit ${r.status})` };
  // Rename last, so an interrupted build never leaves a half-written binary in the cache.
  renameSync(tmp, bin);
  log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s (${(statSync(bin).size / 1e6).toFixed(0)} MB)`);
  return { path: bin };
}

if (import.meta.main) {
  const r = ensureEckOperator((l) => console.error(l));
  if ("missing" in r) {
    console.error(r.missing);
    process.exit(1);
  }
  console.log(r.path);
}
