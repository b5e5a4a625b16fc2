// Step: pods created since the cluster became active without the agent: the webhook missed them
// (pods older than that are the rollout's). Said in PodsInjected and as a Warning Event.
import type { Condition } from "../resources.ts";
import { findUninjected } from "../policy/uninjected.ts";
import { cond } from "../status/conditions.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function checkInjected(c: ClusterView, activeSince: string, d: Pick<ReconcilerDeps, "events">): Promise<Condition> {
  const uninjected = findUninjected({ namespace: c.namespace, name: c.name }, c.pods.map((p) => p.pod), { createdAfter: new Date(activeSince) });
  if (!uninjected) return cond("PodsInjected", "True", "AllInjected", `${c.pods.length} pod(s) carry the agent`);
  await d.events.record(esTarget(c.es), "Warning", uninjected.reason, uninjected.message);
  return cond("PodsInjected", "False", uninjected.reason, uninjected.message);
}
