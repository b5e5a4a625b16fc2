// What the load client knows about the cluster while it sends: the ES pods from a watch (the
// routing table a Service would use) and the ClientAuthentication phase, read continuously.
import * as k8s from "@kubernetes/client-node";
import { ES_SELECTOR, NS, type Lifecycle } from "../lifecycle/cluster.ts";

export interface Target {
  uid: string;
  name: string;
  ip: string;
}

/**
 * The ES pods as an EndpointSlice would list them as ready: Ready condition True and not
 * terminating. A watch, not a poll, so a deletion is seen within milliseconds.
 */
export class PodView {
  private readonly pods = new Map<string, k8s.V1Pod>();
  private informer: k8s.ListWatch<k8s.V1Pod> | undefined;
  private stopped = false;

  async start(kc: k8s.KubeConfig): Promise<void> {
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const informer = new k8s.ListWatch<k8s.V1Pod>(
      `/api/v1/namespaces/${NS}/pods`,
      new k8s.Watch(kc),
      () => core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR }),
      false,
      ES_SELECTOR,
    );
    const seen = (p: k8s.V1Pod) => void this.pods.set(p.metadata!.uid!, p);
    informer.on("add", seen);
    informer.on("update", seen);
    informer.on("delete", (p) => void this.pods.delete(p.metadata!.uid!));
    // A dropped watch is restarted (list + watch again), as an informer would.
    informer.on("error", () => void (this.stopped || setTimeout(() => void (this.stopped || informer.start()), 200)));
    this.informer = informer;
    await informer.start();
  }

  /** Ready, not terminating, with an address; sorted by name so round-robin is stable. */
  ready(): Target[] {
    const out: Target[] = [];
    for (const p of this.pods.values()) {
      const ready = p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
      if (ready && !p.metadata?.deletionTimestamp && p.status?.podIP) out.push({ uid: p.metadata!.uid!, name: p.metadata!.name!, ip: p.status.podIP });
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.informer?.stop();
  }
}

/** The ClientAuthentication phase, polled; "absent" before the controller created the object. */
export class PhaseView {
  phase = "absent";
  /** Every change, with when it was seen. */
  readonly changes: Array<{ at: number; phase: string }> = [];
  private running = true;
  private loop: Promise<void> | undefined;

  async start(lc: Pick<Lifecycle, "status">, everyMs = 100): Promise<void> {
    const read = async () => {
      const p = String((await lc.status().catch(() => undefined))?.phase ?? "absent");
      if (p !== this.phase || !this.changes.length) this.changes.push({ at: Date.now(), phase: p });
      this.phase = p;
    };
    await read();
    this.loop = (async () => {
      while (this.running) {
        await new Promise((r) => setTimeout(r, everyMs)); // the poll period, not a wait for a condition
        await read();
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
