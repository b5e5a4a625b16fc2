// Whether Elasticsearch's own health allows evicting one of its pods now: only a green cluster
// (every shard allocated, replicas included) loses a node without losing availability. Yellow
// or red, or no answer at all, holds the eviction; the reason says which and is shown as is. So does
// a refusal to ask at all (gate/health-targets.ts: an annotation naming a Secret the cluster's own
// pods do not use), which only the user can fix.

export type HealthStatus = "green" | "yellow" | "red";
/** What one look at the cluster found (kube/es-health.ts reads it): its status and the pod that answered, or why no pod did. */
export type HealthAnswer = { status: HealthStatus; pod: string } | { status: "unreachable"; reason: string } | { status: "refused"; reason: string };

export type HealthVerdict = { ok: true } | { ok: false; reason: "ClusterNotGreen" | "ClusterHealthUnknown" | "HealthSecretRefused"; message: string };

export function healthAllowsEviction(a: HealthAnswer): HealthVerdict {
  if (a.status === "green") return { ok: true };
  if (a.status === "refused") return { ok: false, reason: "HealthSecretRefused", message: `cluster health is not read: ${a.reason}` };
  if (a.status === "unreachable") return { ok: false, reason: "ClusterHealthUnknown", message: `cluster health could not be read (${a.reason})` };
  return { ok: false, reason: "ClusterNotGreen", message: `cluster health is ${a.status} (answered by pod ${a.pod}), not green` };
}
