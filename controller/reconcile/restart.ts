// Step: restart running pods, one at a time, so they pick up the phase's settings. gate/rollout.ts
// decides which pod; this keeps, per cluster, the last restart whose replacement has not appeared
// yet, and evicts through the Eviction API (PodDisruptionBudgets are honoured).
import type { V1Pod } from "@kubernetes/client-node";
import type { Phase } from "../../protocol/intent.ts";
import type { Condition, Elasticsearch } from "../kube/resources.ts";
import { hasInjectionRecord, podEnforcement } from "../policy/injection-record.ts";
import { controllerUid, nextRestart, replaced, type PendingReplacement, type RolloutStep } from "../gate/rollout.ts";
import { cond } from "../status/conditions.ts";
import { esTarget } from "./event-targets.ts";
import type { PodView } from "./view.ts";
import type { ClusterWriter, EventSink, ReportSource } from "./deps.ts";

/** How soon to look again while a rollout is under way. */
const ROLLOUT_REQUEUE_MS = 5000;

export interface RestartPlan {
  step: RolloutStep;
  condition: Condition;
  requeueMs?: number;
  /** What to persist in status: the restart about to be made, or the one still awaiting its replacement. */
  pending?: PendingReplacement;
}

export class Restarts {
  private readonly pending = new Map<string, PendingReplacement>();

  forget(key: string): void {
    this.pending.delete(key);
  }

  /**
   * The restart whose replacement has not appeared yet, if any. Held in memory and persisted in
   * status (pendingRestart), so a restarted controller picks it up. A persisted one whose pod still
   * runs untouched was never evicted (refused by a PDB, or the controller died first): dropped.
   */
  outstanding(key: string, pods: PodView[], persisted: PendingReplacement | undefined): PendingReplacement | undefined {
    if (!this.pending.has(key) && persisted?.ownerUid) {
      const untouched = persisted.uid && pods.some((p) => p.pod.metadata!.uid === persisted.uid && !p.pod.metadata?.deletionTimestamp);
      if (!untouched) this.pending.set(key, persisted);
    }
    const pending = this.pending.get(key);
    if (pending && replaced(pending, pods.map((p) => p.pod))) this.pending.delete(key);
    return this.pending.get(key);
  }

  plan(key: string, next: Phase, phase: Phase, pods: PodView[], d: { reports: ReportSource; proven: (p: PodView) => boolean; bundleEverywhere: boolean }): RestartPlan {
    const step = nextRestart(
      next,
      pods.map((p) => ({
        pod: p.pod,
        role: p.role,
        injected: hasInjectionRecord(p.pod),
        enforcement: podEnforcement(p.pod, phase),
        proven: d.proven(p),
        restartRequired: d.reports.get(p.pod.metadata!.uid!)?.restartRequired === true,
      })),
      this.pending.get(key),
      d.bundleEverywhere,
    );
    const pending = this.pending.get(key);
    const keep = pending ? { pending } : {};
    if ("evict" in step) {
      return { step, condition: cond("PodsUpToDate", "False", "Restarting", `restarting pod ${step.evict.metadata!.name} ${step.why}`), requeueMs: ROLLOUT_REQUEUE_MS, pending: pendingFor(step.evict, pods) ?? pending };
    }
    if ("wait" in step) return { step, condition: cond("PodsUpToDate", "False", "Waiting", step.wait), requeueMs: ROLLOUT_REQUEUE_MS, ...keep };
    return { step, condition: cond("PodsUpToDate", "True", "UpToDate", "every restartable pod runs with the current settings"), ...keep };
  }

  /** Evicts the planned pod, if any, and remembers it until its owner has created the replacement. */
  async carryOut(key: string, es: Elasticsearch, step: RolloutStep, pods: PodView[], d: { writer: ClusterWriter; events: EventSink }): Promise<void> {
    if (!("evict" in step)) return;
    const podName = step.evict.metadata!.name!;
    const evicted = await d.writer.evict(step.evict.metadata!.namespace!, podName);
    const pending = pendingFor(step.evict, pods);
    if (evicted && pending) this.pending.set(key, pending);
    await d.events.record(
      esTarget(es),
      "Normal",
      evicted ? "RestartingPod" : "RestartBlocked",
      evicted ? `restarting pod ${podName} ${step.why}` : `pod ${podName} must restart ${step.why}, but its PodDisruptionBudget refuses for now`,
    );
  }
}

/** The replacement to wait for once `pod` is evicted: a pod of the same controller with a UID not seen now. */
function pendingFor(pod: V1Pod, pods: PodView[]): PendingReplacement | undefined {
  const ownerUid = controllerUid(pod);
  if (!ownerUid) return undefined;
  const knownUids = pods.filter((p) => controllerUid(p.pod) === ownerUid).map((p) => p.pod.metadata!.uid!);
  return { pod: pod.metadata!.name!, uid: pod.metadata!.uid!, ownerUid, knownUids };
}
