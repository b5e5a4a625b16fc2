// Step: are all the pods there? A transition may finish only when every pod the workload
// controllers will (re)create exists (and is proven): a pod evicted last is simply absent for a
// moment, and a transition that looked only at the pods it saw stranded its replacement (issue 13).
import type { PendingReplacement } from "../gate/rollout.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

/** Why not every Elasticsearch pod is accounted for (a restart awaiting its replacement, fewer pods than replicas), if so. */
export async function missingPods(c: ClusterView, outstanding: PendingReplacement | undefined, d: Pick<ReconcilerDeps, "readReplicas">): Promise<string | undefined> {
  if (outstanding) return `waiting for the replacement of pod ${outstanding.pod}`;
  const owners = new Map<string, { kind: string; name: string; count: number }>();
  for (const p of c.esPods) {
    const ref = p.pod.metadata?.ownerReferences?.find((o) => o.controller);
    if (!ref) continue;
    const o = owners.get(ref.uid) ?? { kind: ref.kind, name: ref.name, count: 0 };
    o.count++;
    owners.set(ref.uid, o);
  }
  for (const o of owners.values()) {
    const wanted = await d.readReplicas(c.namespace, o.kind, o.name);
    if (wanted !== undefined && o.count < wanted) return `${o.kind} ${o.name} wants ${wanted} pod(s), ${o.count} exist`;
  }
  return undefined;
}
