// Step: restart running pods, one at a time, so they pick up the phase's settings. gate/rollout.ts
// decides which pod; this keeps, per cluster, the last restart whose replacement has not appeared
// yet, and evicts through the Eviction API (PodDisruptionBudgets are honoured). Each pod's restarts
// are spaced with capped exponential backoff (common/backoff.ts): a refused eviction (a budget that
// allows nothing now) or a replacement that came back still needing a restart is tried again later,
// not every round; pods a restart would not inject (not-injectable.ts) are never evicted. Before an
// Elasticsearch pod is evicted, the cluster's own health is read (kube/es-health.ts) and must be
// green (gate/cluster-health.ts), asked only of the cluster's own pods with Secrets they use
// (gate/health-targets.ts); otherwise the eviction waits, rechecked with backoff, its reason
// in PodsUpToDate and in an Event.
import type { V1Pod } from "@kubernetes/client-node";
import type { Phase } from "../../protocol/intent.ts";
import type { Condition, Elasticsearch } from "../resources.ts";
import { hasInjectionRecord, podEnforcement } from "../policy/injection-record.ts";
import { controllerUid, nextRestart, replaced, type PendingReplacement, type RolloutStep } from "../gate/rollout.ts";
import { cond } from "../status/conditions.ts";
import { backoffDelay, type BackoffOptions } from "../../common/backoff.ts";
import { notInjectableCondition, notInjectablePods, reportNotInjectable } from "./not-injectable.ts";
import { esTarget } from "./event-targets.ts";
import type { PodView } from "./view.ts";
import type { ClusterWriter, EventSink, ReportSource } from "./deps.ts";
import type { ClusterHealthReader } from "../kube/es-health.ts";
import type { HealthCluster } from "../gate/health-targets.ts";
import { HEALTH_CREDENTIALS_ANNOTATION, HEALTH_HTTP_CA_ANNOTATION } from "../names.ts";
import { healthAllowsEviction, type HealthVerdict } from "../gate/cluster-health.ts";

/** How soon to look again while a rollout is under way. */
const ROLLOUT_REQUEUE_MS = 5000;
/** Between two restart attempts of the same pod: 10 s doubling to 5 min. */
export const RESTART_BACKOFF: BackoffOptions = { minMs: 10_000, maxMs: 300_000 };
/**
 * Between two attempts refused by a PodDisruptionBudget: 10 s doubling to 30 s. A budget frees up by
 * itself (a pod turns Ready again; Kubernetes drops a pod from `disruptedPods` two minutes after an
 * eviction it granted but did not carry out, as when the evicting client died mid-request), and an
 * attempt is one API call: waiting up to RESTART_BACKOFF's 5 min after that only stalls the rollout.
 */
export const REFUSED_EVICTION_BACKOFF: BackoffOptions = { minMs: 10_000, maxMs: 30_000 };
/** Between two reads of a cluster's health that was not green: 2 s doubling to 30 s. */
export const HEALTH_BACKOFF: BackoffOptions = { minMs: 2000, maxMs: 30_000 };

/** One pod's restart attempts. */
interface Attempts {
  count: number;
  retryAt: number;
  /** The last attempt was refused (HTTP 429: a PodDisruptionBudget allows no disruption now). */
  refused: boolean;
}

interface RestartPlan {
  step: RolloutStep;
  /** PodsUpToDate, then PodsInjectable. */
  conditions: Condition[];
  requeueMs?: number;
  /** What to persist in status: the restart about to be made, or the one still awaiting its replacement. */
  pending?: PendingReplacement;
}

export class Restarts {
  private readonly pending = new Map<string, PendingReplacement>();
  /** Per cluster, per pod name (a StatefulSet's replacement keeps it): the restart attempts so far. */
  private readonly attempts = new Map<string, Map<string, Attempts>>();
  /** Per cluster: consecutive health reads that held an eviction, the last verdict, and when to read again. */
  private readonly healthHolds = new Map<string, { count: number; verdict: HealthVerdict & { ok: false }; nextReadAt: number }>();

  constructor(private readonly clock: { now: () => number; random: () => number } = { now: Date.now, random: Math.random }) {}

  forget(key: string): void {
    this.pending.delete(key);
    this.attempts.delete(key);
    this.healthHolds.delete(key);
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
    const now = this.clock.now();
    const attempts = this.attempts.get(key);
    const excluded = notInjectablePods(pods);
    const injectable = notInjectableCondition(excluded);
    const step = nextRestart(
      next,
      pods.map((p) => ({
        pod: p.pod,
        role: p.role,
        injected: hasInjectionRecord(p.pod),
        enforcement: podEnforcement(p.pod, phase),
        proven: d.proven(p),
        restartRequired: d.reports.get(p.pod.metadata!.uid!)?.restartRequired === true,
        notInjectable: excluded.find((x) => x.pod === p.pod)?.cause,
        retryAt: attempts?.get(p.pod.metadata!.name!)?.retryAt,
      })),
      this.pending.get(key),
      d.bundleEverywhere,
      now,
    );
    const pending = this.pending.get(key);
    const keep = pending ? { pending } : {};
    if ("evict" in step) {
      const upToDate = cond("PodsUpToDate", "False", "Restarting", `restarting pod ${step.evict.metadata!.name} ${step.why}`);
      return { step, conditions: [upToDate, injectable], requeueMs: ROLLOUT_REQUEUE_MS, pending: pendingFor(step.evict, pods) ?? pending };
    }
    if ("wait" in step) {
      const refused = step.pod !== undefined && attempts?.get(step.pod)?.refused === true;
      // Look again when the backoff ends, or sooner to notice a replacement or a proof.
      const requeueMs = Math.max(1000, Math.min(ROLLOUT_REQUEUE_MS, (step.retryAt ?? Infinity) - now));
      const upToDate = refused
        ? cond("PodsUpToDate", "False", "DisruptionBudgetBlocks", `${step.wait}: its PodDisruptionBudget allows no disruption now (eviction refused ${attempts!.get(step.pod!)!.count} time(s))`)
        : cond("PodsUpToDate", "False", step.retryAt ? "BackingOff" : "Waiting", step.wait);
      return { step, conditions: [upToDate, injectable], requeueMs, ...keep };
    }
    // Nothing left to restart: the next rollout starts every pod's backoff afresh.
    this.attempts.delete(key);
    return { step, conditions: [cond("PodsUpToDate", "True", "UpToDate", "every restartable pod runs with the current settings"), injectable], ...keep };
  }

  /**
   * An Elasticsearch pod is evicted only while its cluster is green (`health` undefined: the gate is
   * off, --es-health-gate=false). Otherwise the plan becomes a wait: PodsUpToDate says why, an Event
   * is recorded when the reason changes, and the health is read again after a growing delay.
   */
  async holdUnlessGreen(key: string, es: Elasticsearch, plan: RestartPlan, pods: PodView[], d: { clusterHealth?: ClusterHealthReader | undefined; events: EventSink }): Promise<RestartPlan> {
    const step = plan.step;
    const evictsEs = "evict" in step && pods.some((p) => p.pod === step.evict && p.role === "elasticsearch");
    if (!evictsEs || !d.clusterHealth) {
      if (!("wait" in step)) this.healthHolds.delete(key);
      return plan;
    }
    // While a hold's backoff runs, other triggers (pod updates, agents' reports) reuse its verdict
    // rather than read the health again: rechecks are spaced by the backoff, not by the churn.
    const now = this.clock.now();
    const prev = this.healthHolds.get(key);
    let verdict: ReturnType<typeof healthAllowsEviction>;
    if (prev && now < prev.nextReadAt) verdict = prev.verdict;
    else {
      const answer = await d.clusterHealth(healthCluster(es), pods.filter((p) => p.role === "elasticsearch").map((p) => p.pod));
      verdict = healthAllowsEviction(answer);
    }
    if (verdict.ok) {
      this.healthHolds.delete(key);
      return plan;
    }
    const wait = `pod ${step.evict.metadata!.name} must restart ${step.why}; waiting for the cluster to be green: ${verdict.message}`;
    const fresh = !prev || now >= prev.nextReadAt;
    const count = fresh ? (prev?.count ?? 0) + 1 : prev.count;
    const nextReadAt = fresh ? now + backoffDelay(count - 1, HEALTH_BACKOFF, this.clock.random) : prev.nextReadAt;
    this.healthHolds.set(key, { count, verdict, nextReadAt });
    if (prev?.verdict.message !== verdict.message) {
      const reason = verdict.reason === "HealthSecretRefused" ? "HealthSecretRefused" : "RestartWaitingForHealth";
      await d.events.record(esTarget(es), verdict.reason === "ClusterNotGreen" ? "Normal" : "Warning", reason, wait);
    }
    const pending = this.pending.get(key);
    return {
      step: { wait, pod: step.evict.metadata!.name! },
      conditions: [cond("PodsUpToDate", "False", verdict.reason, wait), ...plan.conditions.filter((c) => c.type !== "PodsUpToDate")],
      requeueMs: Math.max(1000, nextReadAt - now),
      ...(pending ? { pending } : {}),
    };
  }

  /** Evicts the planned pod, if any, and remembers it until its owner has created the replacement. */
  async carryOut(key: string, es: Elasticsearch, step: RolloutStep, pods: PodView[], d: { writer: ClusterWriter; events: EventSink }): Promise<void> {
    await reportNotInjectable(es, notInjectablePods(pods), d.events);
    if (!("evict" in step)) return;
    const podName = step.evict.metadata!.name!;
    const evicted = await d.writer.evict(step.evict.metadata!.namespace!, podName);
    const pending = pendingFor(step.evict, pods);
    if (evicted && pending) this.pending.set(key, pending);
    this.attempted(key, podName, !evicted);
    await d.events.record(
      esTarget(es),
      "Normal",
      evicted ? "RestartingPod" : "RestartBlocked",
      evicted ? `restarting pod ${podName} ${step.why}` : `pod ${podName} must restart ${step.why}, but its PodDisruptionBudget refuses for now`,
    );
  }

  /** Counts an attempt on a pod and when the next one may be made. */
  private attempted(key: string, podName: string, refused: boolean): void {
    const byPod = this.attempts.get(key) ?? new Map<string, Attempts>();
    const count = (byPod.get(podName)?.count ?? 0) + 1;
    byPod.set(podName, { count, refused, retryAt: this.clock.now() + backoffDelay(count - 1, refused ? REFUSED_EVICTION_BACKOFF : RESTART_BACKOFF, this.clock.random) });
    this.attempts.set(key, byPod);
  }
}

/** The replacement to wait for once `pod` is evicted: a pod of the same controller with a UID not seen now. */
function pendingFor(pod: V1Pod, pods: PodView[]): PendingReplacement | undefined {
  const ownerUid = controllerUid(pod);
  if (!ownerUid) return undefined;
  const knownUids = pods.filter((p) => controllerUid(p.pod) === ownerUid).map((p) => p.pod.metadata!.uid!);
  return { pod: pod.metadata!.name!, uid: pod.metadata!.uid!, ownerUid, knownUids };
}

/** Where the health gate finds the cluster's credentials and HTTP CA: the resource's annotations, else ECK's names. */
function healthCluster(es: Elasticsearch): HealthCluster {
  const a = es.metadata.annotations ?? {};
  return { namespace: es.metadata.namespace!, name: es.metadata.name!, uid: es.metadata.uid, credentialsSecret: a[HEALTH_CREDENTIALS_ANNOTATION], httpCaSecret: a[HEALTH_HTTP_CA_ANNOTATION] };
}
