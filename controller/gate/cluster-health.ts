// Whether Elasticsearch's own health allows evicting one of its pods now: only a green cluster
// (every shard allocated, replicas included) loses a node without losing availability. Yellow
// or red, or no answer at all, holds the eviction; the reason says which and is shown as is.
import type { HealthAnswer } from "../kube/es-health.ts";

export type HealthVerdict = { ok: true } | { ok: false; reason: "ClusterNotGreen" | "ClusterHealthUnknown"; message: string };

export function healthAllowsEviction(a: HealthAnswer): HealthVerdict {
  if (a.status === "green") return { ok: true };
  if (a.status === "unreachable") return { ok: false, reason: "ClusterHealthUnknown", message: `cluster health could not be read (${a.reason})` };
  return { ok: false, reason: "ClusterNotGreen", message: `cluster health is ${a.status} (answered by pod ${a.pod}), not green` };
}
