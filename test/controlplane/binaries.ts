// Finds or builds the control-plane binaries. The Go build (kube-apiserver,
// etcd and kube-controller-manager as one multi-call binary) is cached outside
// the repository, keyed by a hash of everything that goes into it, so only the
// first run on a machine pays for it.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { spawnSync } from "node:child_process";

export const KUBERNETES_VERSION = "v1.36.3";
const MODULE_DIR = dirname(new URL(import.meta.url).pathname);
const INPUTS = ["go.mod", "go.sum", "main.go"];

/** Argument vectors that start each component (the flags follow). */
export interface ControlPlaneCommands {
  etcd: string[];
  apiserver: string[];
  controllerManager: string[];
  /** Where they came from, for logs. */
  source: string;
}

function goVersion(): string {
  const r = spawnSync("go", ["version"], { encoding: "utf8", env: goEnv() });
  if (r.status !== 0) throw new Error(`go is needed to build the test control plane: ${r.stderr || r.error}`);
  return r.stdout.trim();
}

function goEnv(): NodeJS.ProcessEnv {
  // GOTOOLCHAIN=local: fail fast instead of trying to download another Go.
  return { ...process.env, GOTOOLCHAIN: "local", GOFLAGS: "-mod=mod", CGO_ENABLED: "0" };
}

export function cacheRoot(): string {
  const base = process.env.ES_MTLS_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "es-mtls");
  return join(base, "controlplane");
}

/** Hash of the build inputs: module files, sources and the Go version. */
export function inputsHash(): string {
  const h = createHash("sha256");
  for (const f of INPUTS) h.update(f).update("\0").update(readFileSync(join(MODULE_DIR, f))).update("\0");
  h.update(goVersion());
  return h.digest("hex").slice(0, 16);
}

function fromEnvironment(): ControlPlaneCommands | undefined {
  const assets = process.env.KUBEBUILDER_ASSETS;
  const pick = (specific: string | undefined, name: string) =>
    specific ?? (assets ? join(assets, name) : undefined);
  const etcd = pick(process.env.TEST_ASSET_ETCD, "etcd");
  const apiserver = pick(process.env.TEST_ASSET_KUBE_APISERVER, "kube-apiserver");
  const kcm = pick(process.env.TEST_ASSET_KUBE_CONTROLLER_MANAGER, "kube-controller-manager");
  if (!etcd || !apiserver || !kcm) return undefined;
  for (const p of [etcd, apiserver, kcm]) {
    if (!existsSync(p)) throw new Error(`KUBEBUILDER_ASSETS/TEST_ASSET_* names ${p}, which does not exist`);
  }
  return { etcd: [etcd], apiserver: [apiserver], controllerManager: [kcm], source: "environment" };
}

/** Builds the multi-call binary unless the cache already holds it. */
export function ensureBinaries(log: (line: string) => void = () => {}): ControlPlaneCommands {
  const given = fromEnvironment();
  if (given) return given;
  const dir = join(cacheRoot(), inputsHash());
  const bin = join(dir, "k8s-testenv");
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true });
    log(`building the test control plane (${KUBERNETES_VERSION}) into ${dir}; the first build takes minutes`);
    const started = Date.now();
    const ldflags = [
      "-s -w",
      `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
      "-X k8s.io/component-base/version.gitMajor=1",
      `-X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION.split(".")[1]}`,
      "-X k8s.io/component-base/version.gitTreeState=clean",
    ].join(" ");
    const tmp = `${bin}.partial-${process.pid}`;
    const r = spawnSync("go", ["build", "-trimpath", "-ldflags", ldflags, "-o", tmp, "."], {
      cwd: MODULE_DIR,
      env: goEnv(),
      stdio: ["ignore", "inherit", "inherit"],
    });
    if (r.status !== 0) throw new Error(`building the test control plane failed (exit ${r.status})`);
    // Rename last, so an interrupted build never leaves a half-written binary in the cache.
    renameSync(tmp, bin);
    log(`built in ${((Date.now() - started) / 1000).toFixed(0)} s (${(statSync(bin).size / 1e6).toFixed(0)} MB)`);
  }
  return {
    etcd: [bin, "etcd"],
    apiserver: [bin, "kube-apiserver"],
    controllerManager: [bin, "kube-controller-manager"],
    source: bin,
  };
}

if (import.meta.main) {
  const c = ensureBinaries((l) => console.error(l));
  console.log(c.source);
}
