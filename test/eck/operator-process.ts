// Runs the real ECK operator (operator-binary.ts) against a test control plane, as ECK's own
// manifests would, minus what a test has no use for: its webhook (needs a Service and a serving
// certificate), telemetry and metrics. A trial licence is started the way ECK's docs say (a Secret
// labelled enterprise_trial, EULA accepted), so ECK enables its enterprise features, client
// authentication among them. Stopped with SIGTERM, SIGKILL on exit of the test process.
import { spawn, type ChildProcess } from "node:child_process";
import * as k8s from "@kubernetes/client-node";
import { collectLines } from "../support/child-lines.ts";

const ECK_NAMESPACE = "elastic-system";
/** The user ECK's requests carry in the audit log. */
export const ECK_USER = "elastic-operator";

const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export class EckOperator {
  readonly logs: string[] = [];
  private constructor(readonly child: ChildProcess) {}

  /** `kubeconfig`: a cluster-admin kubeconfig for ECK_USER (ECK's ClusterRole is as wide). */
  static async start(o: { binary: string; kubeconfig: string; core: k8s.CoreV1Api }): Promise<EckOperator> {
    await o.core.createNamespace({ body: { metadata: { name: ECK_NAMESPACE } } }).catch((e) => {
      if (e?.code !== 409) throw e;
    });
    await o.core.createNamespacedSecret({
      namespace: ECK_NAMESPACE,
      body: { metadata: { name: "eck-trial", labels: { "license.k8s.elastic.co/type": "enterprise_trial" }, annotations: { "elastic.co/eula": "accepted" } } },
    });
    const child = spawn(o.binary, ["manager", "--enable-webhook=false", `--operator-namespace=${ECK_NAMESPACE}`, "--disable-telemetry", "--metrics-port=0"], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, KUBECONFIG: o.kubeconfig },
    });
    running.add(child);
    const op = new EckOperator(child);
    collectLines(child, op.logs, "eck");
    child.on("exit", () => running.delete(child));
    return op;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((res) => this.child.once("exit", res));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
