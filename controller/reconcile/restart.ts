// Step: restart running pods, one at a time, so they pick up the phase's settings. gate/rollout.ts
// decides which pod; this keeps, per cluster, the last restart whose replacement has not appeared
// yet, and evicts through the Eviction API (PodDisruptionBudgets are honoured).
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
}

export class Restarts {
  private readonly pending = new Map<string, PendingReplacement>();

  forget(key: string): void {
    this.pending.delete(key);
  }

  plan(key: string, next: Phase, phase: Phase, pods: PodView[], d: { reports: ReportSource; proven: (p: PodView) => boolean; bundleEverywhere: boolean }): RestartPlan {
    const pending = this.pending.get(key);
    if (pending && replaced(pending, pods.map((p) => p.pod))) this.pending.delete(key);
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
    if ("evict" in step) return { step, condition: cond("PodsUpToDate", "False", "Restarting", `restarting pod ${step.evict.metadata!.name} ${step.why}`), requeueMs: ROLLOUT_REQUEUE_MS };
    if ("wait" in step) return { step, condition: cond("PodsUpToDate", "False", "Waiting", step.wait), requeueMs: ROLLOUT_REQUEUE_MS };
    return { step, condition: cond("PodsUpToDate", "True", "UpToDate", "every restartable pod runs with the current settings") };
  }

  /** Evicts the planned pod, if any, and remembers it until its owner has created the replacement. */
  async carryOut(key: string, es: Elasticsearch, step: RolloutStep, pods: PodView[], d: { writer: ClusterWriter; events: EventSink }): Promise<void> {
    if (!("evict" in step)) return;
    const podName = step.evict.metadata!.name!;
    const evicted = await d.writer.evict(step.evict.metadata!.namespace!, podName);
    const ownerUid = controllerUid(step.evict);
    if (evicted && ownerUid) {
      const siblings = pods.filter((p) => controllerUid(p.pod) === ownerUid).map((p) => p.pod.metadata!.uid!);
      this.pending.set(key, { pod: podName, ownerUid, knownUids: siblings });
    }
    await d.events.record(
      esTarget(es),
      "Normal",
      evicted ? "RestartingPod" : "RestartBlocked",
      evicted ? `restarting pod ${podName} ${step.why}` : `pod ${podName} must restart ${step.why}, but its PodDisruptionBudget refuses for now`,
    );
  }
}

