// A tiny scheduler: every unbound pod that asks for the default scheduler is
// bound to this node through the pods/binding subresource, as kube-scheduler
// would. With several test nodes on one control plane each one offers itself; the
// apiserver accepts the first binding and refuses the others (409).
import * as k8s from "@kubernetes/client-node";

export class TinyScheduler {
  private informer: k8s.ListWatch<k8s.V1Pod> | undefined;
  private readonly inFlight = new Set<string>();
  private stopped = false;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly nodeName: string,
    private readonly log: (line: string) => void,
    private readonly schedulerName = "default-scheduler",
  ) {}

  async start(): Promise<void> {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const selector = "spec.nodeName=";
    const informer = new k8s.ListWatch<k8s.V1Pod>(
      "/api/v1/pods",
      new k8s.Watch(this.kc),
      () => core.listPodForAllNamespaces({ fieldSelector: selector }),
      false,
      undefined,
      selector,
    );
    informer.on("add", (p) => void this.bind(core, p));
    informer.on("update", (p) => void this.bind(core, p));
    informer.on("error", (e) => {
      if (this.stopped) return;
      this.log(`scheduler watch: ${(e as Error)?.message ?? e}; restarting`);
      setTimeout(() => void (this.stopped || informer.start()), 500);
    });
    this.informer = informer;
    await informer.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }

  private async bind(core: k8s.CoreV1Api, pod: k8s.V1Pod): Promise<void> {
    const m = pod.metadata!;
    if (pod.spec?.nodeName || m.deletionTimestamp || (pod.spec?.schedulerName ?? "default-scheduler") !== this.schedulerName) return;
    const key = m.uid!;
    if (this.inFlight.has(key)) return;
    this.inFlight.add(key);
    try {
      await core.createNamespacedPodBinding({
        name: m.name!,
        namespace: m.namespace!,
        body: { metadata: { name: m.name!, namespace: m.namespace!, uid: m.uid! }, target: { apiVersion: "v1", kind: "Node", name: this.nodeName } },
      });
    } catch (e) {
      const code = (e as { code?: number }).code;
      if (code === 409 || code === 404) return;
      this.log(`binding ${m.namespace}/${m.name}: ${(e as Error).message}; retrying`);
      setTimeout(() => void (this.stopped || this.bind(core, pod)), 1000);
    } finally {
      this.inFlight.delete(key);
    }
  }
}
