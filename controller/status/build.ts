// The ClientAuthentication status as data: its base, one entry per pod from its agent's report,
// the cluster-wide summaries, every status a reconcile writes (active, inactive, held), and the
// comparison that decides whether a write is needed. Pure: status/write.ts is the only I/O in status/.
import type { Enforcement, Phase, Role, StatusReport } from "../../protocol/intent.ts";
import type { ClientAuthenticationStatus, Condition, PodStatusEntry } from "../resources.ts";
import { canonicalJson } from "../../common/canonical-json.ts";
import { kubeTime, mergeConditions } from "./conditions.ts";

/** A status that keeps only the generation sequence of the previous one. */
function baseStatus(prev: Partial<ClientAuthenticationStatus>): ClientAuthenticationStatus {
  return {
    phase: "Disabled",
    enforcement: "none",
    intentGeneration: prev.intentGeneration ?? 0,
    intentHash: prev.intentHash ?? "",
    podsProven: "0/0",
    pods: [],
    conditions: [],
  };
}

/** What a reconcile of an active cluster says: its pods' entries, what they proved, its intent generation and bundle. */
export function activeStatus(
  prev: Partial<ClientAuthenticationStatus>,
  s: {
    phase: Phase;
    generation: number;
    hash: string;
    bundleSha256: string;
    provenCount: number;
    /** One per pod of the cluster (podEntry). */
    pods: PodStatusEntry[];
    /** What each Elasticsearch pod's last proof showed it enforces (gate/proofs.ts provenEnforcement). */
    esEnforcement: Enforcement[];
    expiries: Date[];
    conditions: Condition[];
  },
): ClientAuthenticationStatus {
  const expiries = [...s.expiries, ...s.pods.flatMap((e) => (e.certificateNotAfter ? [new Date(e.certificateNotAfter)] : []))];
  return {
    ...baseStatus(prev),
    phase: s.phase,
    // What the pods' agents proved, not what an annotation says they were configured with.
    enforcement: clusterEnforcement(s.esEnforcement),
    intentGeneration: s.generation,
    intentHash: s.hash,
    podsProven: `${s.provenCount}/${s.pods.length}`,
    bundleHash: s.bundleSha256.slice(0, 12),
    bundleSha256: s.bundleSha256,
    earliestExpiry: earliestExpiry(expiries),
    pods: s.pods,
    conditions: mergeConditions(prev.conditions, s.conditions),
  };
}

/**
 * A cluster with no pod in play (stood down, disabled, or ECK's own): enforcement none, no pod
 * entries, none of its `podCount` pods proven. Without `intent`, the previous generation is kept.
 */
export function inactiveStatus(
  prev: Partial<ClientAuthenticationStatus>,
  s: { phase: string; podCount: number; conditions: Condition[]; intent?: { generation: number; hash: string } },
): ClientAuthenticationStatus {
  return {
    ...baseStatus(prev),
    phase: s.phase,
    enforcement: "none",
    ...(s.intent ? { intentGeneration: s.intent.generation, intentHash: s.intent.hash } : {}),
    podsProven: `0/${s.podCount}`,
    pods: [],
    conditions: mergeConditions(prev.conditions, s.conditions),
  };
}

/** A cluster held as it is: the previous status kept whole, in phase `phase`, with these conditions. */
export function heldStatus(prev: Partial<ClientAuthenticationStatus>, phase: Phase, podCount: number, conditions: Condition[]): ClientAuthenticationStatus {
  return {
    ...baseStatus(prev),
    ...prev,
    phase,
    enforcement: prev.enforcement ?? "none",
    podsProven: prev.podsProven ?? `0/${podCount}`,
    pods: prev.pods ?? [],
    conditions: mergeConditions(prev.conditions, conditions),
  };
}

export function podEntry(pod: { name: string; uid: string; role: Role; injected: boolean; agentImage?: string | undefined }, report: StatusReport | undefined): PodStatusEntry {
  const entry: PodStatusEntry = { name: pod.name, uid: pod.uid, role: pod.role, injected: pod.injected };
  // Which agent the pod runs: after an upgrade, pods keep the agent they were created with until they restart (README, Install).
  if (pod.agentImage) entry.agentImage = pod.agentImage;
  if (report) {
    entry.appliedGeneration = report.generation;
    if (report.bundleSha256) entry.bundleSha256 = report.bundleSha256;
    if (report.certificate?.notAfter) entry.certificateNotAfter = report.certificate.notAfter;
    if (report.proof) {
      entry.withCertificate = report.proof.withCertificate;
      entry.withoutCertificate = report.proof.withoutCertificate;
    }
    entry.ready = report.ready;
  }
  return entry;
}

/** The cluster's enforcement: `required` when every Elasticsearch pod requires, `optional` when some do. */
function clusterEnforcement(esPods: Enforcement[]): Enforcement {
  if (esPods.length && esPods.every((e) => e === "required")) return "required";
  return esPods.some((e) => e === "required") ? "optional" : "none";
}

function earliestExpiry(dates: Date[]): string {
  return kubeTime(new Date(Math.min(...dates.map((d) => d.getTime()))));
}

/** "Did anything change": field order, absent-vs-undefined, observedGeneration and transition times do not count. */
export function sameStatus(a: Partial<ClientAuthenticationStatus>, b: Partial<ClientAuthenticationStatus>): boolean {
  return comparable(a) === comparable(b);
}

function comparable(s: Partial<ClientAuthenticationStatus>): string {
  const { observedGeneration: _o, ...rest } = s;
  return canonicalJson({ ...rest, conditions: rest.conditions?.map(({ lastTransitionTime: _t, ...c }) => c) });
}
