// Step: every pod's intent into the intent store (pushed to its agent's stream), or withdrawn. A pod
// that left the cluster's view (its Kibana re-pointed, its reference refused, its label changed)
// loses the intent this cluster published for it, so its agent sees none (issue 18).
import type { Identity } from "../../protocol/intent.ts";
import { log } from "../log.ts";
import { clusterIntents, retiredIntent, type ClusterIntentInput, type RetiredInput } from "./intents.ts";
import { isInjected } from "../policy/injection-record.ts";
import type { KibanaIdentity } from "./kibana.ts";
import { podRef, type PodView } from "./view.ts";
import type { IntentSink } from "./deps.ts";

export function publishIntents(intents: IntentSink, pods: PodView[], cluster: ClusterIntentInput, identities: KibanaIdentity[]): void {
  const identityOf = new Map(identities.map((k) => [k.kibana.metadata.uid, k]));
  const intentOf = clusterIntents(cluster);
  for (const p of pods) {
    if (p.role === "elasticsearch") {
      intents.set(intentOf.elasticsearch(p.pod));
      continue;
    }
    const id = identityOf.get(p.kibana!.metadata.uid);
    // No partial configuration: a Kibana whose identity is unusable keeps what it has.
    if (id?.ok) intents.set(intentOf.kibana(p.pod, id.identity satisfies Identity));
    else if (!intents.get(p.pod.metadata!.namespace!, p.pod.metadata!.name!)) log.debug("no intent for kibana pod", { namespace: p.pod.metadata!.namespace, name: p.pod.metadata!.name });
  }
  withdrawLeavers(intents, pods, cluster.cluster);
}

/** The intents this cluster published for pods no longer in its view are withdrawn. */
function withdrawLeavers(intents: IntentSink, pods: PodView[], cluster: { namespace: string; name: string }): void {
  const withdrawn = intents.withdrawExcept(cluster, pods.map(podRef));
  if (withdrawn.length) log.info("withdrew the intents of pods that left the cluster", { cluster: `${cluster.namespace}/${cluster.name}`, pods: withdrawn.map((p) => `${p.namespace}/${p.name}`) });
}


/**
 * An inactive cluster: pods that carry the agent get a retired intent (start, stay out of the
 * way); the others have nothing to hold. The generation is the cluster's persisted one, above
 * every intent published before the cluster stood down. Returns the pods that kept the intent
 * they had: a changed retired intent at the same generation (a new inert anchor) is refused by
 * the store, and the one a pod has works as well.
 */
export function retireIntents(intents: IntentSink, pods: PodView[], input: RetiredInput): { kept: { namespace: string; name: string; reason: string }[] } {
  const kept: { namespace: string; name: string; reason: string }[] = [];
  for (const p of pods) {
    const { namespace, name } = p.pod.metadata!;
    if (!isInjected(p.pod)) {
      intents.remove(namespace!, name!);
      continue;
    }
    const outcome = intents.offer(retiredIntent(p.pod, p.role, input));
    if (outcome.result === "stale") kept.push({ namespace: namespace!, name: name!, reason: outcome.reason });
  }
  withdrawLeavers(intents, pods, input.cluster);
  return { kept };
}
