// Finds or builds the control-plane binaries. The Go build (kube-apiserver,
// etcd and kube-controller-manager as one multi-call binary) is cached outside
// the repository, keyed by a hash of everything that goes into it, so only the
// first run on a machine pays for it.
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { cacheKey, cachedGoBinary, goEnv, goVersion } from "../support/go-binary-cache.ts";

export const KUBERNETES_VERSION = "v1.36.3";
const MODULE_DIR = dirname(new URL(import.meta.url).pathname);
const INPUTS = ["go.mod", "go.sum", "main.go"];
// -mod=mod: the module's go.sum is completed on a first build.
const ENV = goEnv({ GOFLAGS: "-mod=mod" });

/** Argument vectors that start each component (the flags follow). */
export interface ControlPlaneCommands {
  etcd: string[];
  apiserver: string[];
  controllerManager: string[];
  /** Where they came from, for logs. */
  source: string;
}

/** Hash of the build inputs: each module file's name and content, then the Go version. */
export function inputsHash(): string {
  const go = goVersion(ENV);
  if ("missing" in go) throw new Error(`go is needed to build the test control plane: ${go.missing}`);
  return cacheKey([...INPUTS.flatMap((f) => [f, readFileSync(join(MODULE_DIR, f))]), go.version]);
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
  const built = cachedGoBinary(
    {
      name: "controlplane",
      key: inputsHash(),
      binary: "k8s-testenv",
      what: `the test control plane (${KUBERNETES_VERSION})`,
      workdir: () => ({ dir: MODULE_DIR }),
      ldflags: [
        "-s -w",
        `-X k8s.io/component-base/version.gitVersion=${KUBERNETES_VERSION}`,
        "-X k8s.io/component-base/version.gitMajor=1",
        `-X k8s.io/component-base/version.gitMinor=${KUBERNETES_VERSION.split(".")[1]}`,
        "-X k8s.io/component-base/version.gitTreeState=clean",
      ].join(" "),
      pkg: ".",
      env: ENV,
    },
    log,
  );
  if ("missing" in built) throw new Error(built.missing);
  const bin = built.path;
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
