// Kubernetes Events on the objects users look at. The same message for the same
// object is recorded once per process: a resync that finds the same problem
// writes nothing new.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

const MAX_REMEMBERED = 10_000;

export class EventRecorder {
  private readonly core: k8s.CoreV1Api;
  private readonly seen = new Set<string>();

  constructor(kc: k8s.KubeConfig, private readonly reportingInstance: string) {
    this.core = kc.makeApiClient(k8s.CoreV1Api);
  }

  async record(target: EventTarget, type: "Normal" | "Warning", reason: string, message: string): Promise<void> {
    const id = `${target.uid ?? `${target.namespace}/${target.kind}/${target.name}`}|${reason}|${message}`;
    if (this.seen.has(id)) return;
    if (this.seen.size > MAX_REMEMBERED) this.seen.clear();
    this.seen.add(id);
    const now = new Date();
    log.info("event", { object: `${target.kind}/${target.namespace}/${target.name}`, type, reason, message });
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Event" });
    try {
      await this.core.createNamespacedEvent({
        namespace: target.namespace,
        body: {
          metadata: { generateName: `${target.name}.`, namespace: target.namespace },
          involvedObject: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace, name: target.name, uid: target.uid },
          type,
          reason,
          message: message.slice(0, 1024),
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
          source: { component: "es-mtls-controller" },
          reportingComponent: "es-mtls-controller",
          reportingInstance: this.reportingInstance,
        },
      });
    } catch (e) {
      this.seen.delete(id);
      log.warn("recording an event failed", { reason, error: String(e) });
    }
  }
}
