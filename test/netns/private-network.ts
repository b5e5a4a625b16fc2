// A network namespace of the test's own, for the tests that need pods with addresses a Service can
// reach: EndpointSlices refuse loopback addresses (ValidateEndpointIP), and kube-apiserver with
// --enable-aggregator-routing=true calls a webhook Service's endpoints directly. The test file runs
// itself again under `unshare --net` (as root), with `lo` up; the control plane, the test node and
// every pod then live in that namespace, pods on 10.244.X.Y addresses added to its `lo`, and no
// packet leaves the sandbox. Outside it (not root, no unshare), the tests skip, saying why.
import { execFileSync, spawn } from "node:child_process";
import { readlinkSync } from "node:fs";
import type { PodNetwork } from "../node/ports.ts";

const MARK = "ES_MTLS_PRIVATE_NETWORK";
const OUTER = "ES_MTLS_OUTER_NETWORK";

/** True in the process started by `runInPrivateNetwork`. */
export const inPrivateNetwork = process.env[MARK] === "1";

/** Why a private network namespace cannot be made here, or undefined when it can. */
export function privateNetworkUnavailable(): string | undefined {
  if (process.platform !== "linux") return "needs Linux network namespaces";
  if (process.getuid?.() !== 0) return "needs root (unshare --net)";
  for (const tool of ["unshare", "ip"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return `needs ${tool}`;
    }
  }
  return undefined;
}

/** The network namespace this process is in, e.g. "net:[4026531840]". */
export const networkNamespace = (): string => readlinkSync("/proc/self/ns/net");

/** Inside: the network namespace of the process that ran `runInPrivateNetwork`. */
export const outerNetworkNamespace = (): string | undefined => process.env[OUTER];

/**
 * Runs `bun test <file>` in a new network namespace and returns its exit status and output (each
 * line also passed to `onLine`, so the inner tests' names and failures appear in the outer log).
 */
export function runInPrivateNetwork(file: string, o: { timeoutMs: number; onLine?: (line: string) => void }): Promise<{ status: number | null; output: string }> {
  const script = 'ip link set lo up && exec "$@"';
  const child = spawn("unshare", ["--net", "--", "sh", "-c", script, "sh", process.execPath, "test", "--timeout", String(o.timeoutMs), file], {
    env: { ...process.env, [MARK]: "1", [OUTER]: networkNamespace() },
    stdio: ["ignore", "pipe", "pipe"],
    detached: true, // its own process group: a timeout kills everything it started
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    for (const line of text.split("\n")) if (line.trim()) o.onLine?.(line);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      output += `\n(killed after ${o.timeoutMs} ms)\n`;
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {}
    }, o.timeoutMs);
    child.on("close", (status) => {
      clearTimeout(timer);
      resolve({ status, output });
    });
  });
}

/**
 * Pod addresses for the test node inside the private namespace: a random 10.244.X.0/24, each
 * address added to `lo` when a pod gets it and removed when the pod is gone. 10.244/16 is the
 * private range kubeadm clusters commonly use for pods; here it exists only inside the namespace.
 */
export function privatePodNetwork(): PodNetwork {
  if (!inPrivateNetwork) throw new Error("privatePodNetwork() outside the private network namespace would change the host's loopback interface");
  const ip = (args: string[]) => execFileSync("ip", args, { stdio: ["ignore", "ignore", "pipe"] });
  return {
    prefix: `10.244.${1 + Math.floor(Math.random() * 254)}`,
    attach: (a) => ip(["addr", "add", `${a}/32`, "dev", "lo"]),
    detach: (a) => {
      try {
        ip(["addr", "del", `${a}/32`, "dev", "lo"]);
      } catch {} // already gone
    },
  };
}
