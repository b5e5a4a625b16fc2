// Which pod to restart next so running pods pick up the cluster's settings
// (`client_authentication` is static in Elasticsearch, and Kibana reads its client
// certificate only at start). One pod at a time, and only once every pod restarted
// before has proven its new material; Kibana first when enabling, so it already
// presents its certificate when Elasticsearch starts requiring one. Only pods a
// controller will re-create (StatefulSet, ReplicaSet) are restarted, and never a pod that would
// come back without the agent anyway (opted out, ECK's own mount: policy/uninjected.ts), which would
// be an eviction loop. A pod restarted before that still needs a restart waits out its backoff.
import type { V1Pod } from "@kubernetes/client-node";
import type { Enforcement, Phase } from "../../protocol/intent.ts";
import { isActive } from "../policy/phases.ts";
import type { NotInjectableCause } from "../policy/uninjected.ts";

export interface RolloutPod {
  pod: V1Pod;
  role: "elasticsearch" | "kibana";
  injected: boolean;
  /** What its Elasticsearch enforces (fixed at creation). */
  enforcement: Enforcement;
  /** Its agent proved the current material (gate/proofs.ts). */
  proven: boolean;
  /** Kibana: its agent wrote a new identity the running process has not loaded (read at start only). */
  restartRequired?: boolean;
  /** Why a restart would not give it the agent (policy/uninjected.ts): never restarted. */
  notInjectable?: NotInjectableCause;
  /** Epoch ms before which it is not restarted again (per-pod backoff after a refusal or a failed restart). */
  retryAt?: number;
}

export type RolloutStep = { evict: V1Pod; why: string } | { wait: string; retryAt?: number; pod?: string } | { done: true };

/** The last restart: its controller (owner UID) and the pod UIDs it had then. */
export interface PendingReplacement {
  pod: string;
  /** UID of the pod restarted. */
  uid?: string;
  ownerUid: string;
  knownUids: string[];
}

export function controllerUid(pod: V1Pod): string | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.controller)?.uid;
}

/** True once the owner of the last restarted pod has created its replacement. */
export function replaced(pending: PendingReplacement, pods: V1Pod[]): boolean {
  return pods.some((p) => controllerUid(p) === pending.ownerUid && !pending.knownUids.includes(p.metadata!.uid!));
}

function managed(pod: V1Pod): boolean {
  return (pod.metadata?.ownerReferences ?? []).some((o) => o.controller && (o.kind === "StatefulSet" || o.kind === "ReplicaSet"));
}

const nameOf = (p: RolloutPod) => p.pod.metadata!.name!;

/**
 * `bundleEverywhere`: every Elasticsearch pod loaded the current trust bundle, so a Kibana
 * restarted now presents an identity Elasticsearch already trusts.
 */
export function nextRestart(phase: Phase, pods: RolloutPod[], pending?: PendingReplacement, bundleEverywhere = true, now = Date.now()): RolloutStep {
  if (!isActive(phase)) return { done: true };
  // Between an eviction and its replacement the pod is simply absent: wait for it.
  if (pending && !replaced(pending, pods.map((p) => p.pod))) return { wait: `waiting for the replacement of pod ${pending.pod}` };
  const terminating = pods.find((p) => p.pod.metadata?.deletionTimestamp);
  if (terminating) return { wait: `pod ${nameOf(terminating)} is terminating` };
  // A restarted pod comes back injected; nothing else moves until it proved its material.
  const settling = pods.find((p) => p.injected && !p.proven && !p.restartRequired && managed(p.pod));
  if (settling) return { wait: `pod ${nameOf(settling)} has not proven its material yet` };
  const candidates = pods.filter((p) => managed(p.pod) && !p.notInjectable);
  // The next pod in order waits out its own backoff; the order (Kibana first) is kept meanwhile.
  const pick = (p: RolloutPod | undefined, why: string): RolloutStep | undefined =>
    !p ? undefined : p.retryAt !== undefined && p.retryAt > now ? { wait: `pod ${nameOf(p)} must restart ${why}; next attempt at ${new Date(p.retryAt).toISOString()}`, retryAt: p.retryAt, pod: nameOf(p) } : { evict: p.pod, why };
  const renewedKibana = pick(candidates.find((p) => p.role === "kibana" && p.restartRequired), "to load its renewed client certificate");
  if (renewedKibana && !bundleEverywhere) return { wait: "a Kibana must restart with its new certificate once every Elasticsearch pod loaded the current bundle" };
  if (phase === "Disabling") {
    return pick(candidates.find((p) => p.role === "elasticsearch" && p.enforcement === "required"), "to stop requiring client certificates") ?? renewedKibana ?? { done: true };
  }
  return (
    pick(candidates.find((p) => p.role === "kibana" && !p.injected), "to present its client certificate") ??
    renewedKibana ??
    pick(candidates.find((p) => p.role === "elasticsearch" && (!p.injected || p.enforcement !== "required")), "to require client certificates") ?? { done: true }
  );
}
