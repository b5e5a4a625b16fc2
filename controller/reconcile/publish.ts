// Step: every pod's intent into the intent store (pushed to its agent's stream), or withdrawn.
import type { Identity } from "../../protocol/intent.ts";
import { log } from "../log.ts";
import { elasticsearchIntent, kibanaIntent, type ClusterIntentInput } from "./intents.ts";
import type { KibanaIdentity } from "./kibana.ts";
import type { PodView } from "./view.ts";
import type { IntentSink } from "./deps.ts";

export function publishIntents(intents: IntentSink, pods: PodView[], cluster: ClusterIntentInput, identities: KibanaIdentity[]): void {
  const identityOf = new Map(identities.map((k) => [k.kibana.metadata.uid, k]));
  for (const p of pods) {
    if (p.role === "elasticsearch") {
      intents.set(elasticsearchIntent(p.pod, cluster));
      continue;
    }
    const id = identityOf.get(p.kibana!.metadata.uid);
    // No partial configuration: a Kibana whose identity is unusable keeps what it has.
    if (id?.ok) intents.set(kibanaIntent(p.pod, cluster, id.identity satisfies Identity));
    else if (!intents.get(p.pod.metadata!.namespace!, p.pod.metadata!.name!)) log.debug("no intent for kibana pod", { namespace: p.pod.metadata!.namespace, name: p.pod.metadata!.name });
  }
}

export function withdrawIntents(intents: IntentSink, pods: PodView[]): void {
  for (const { pod } of pods) intents.remove(pod.metadata!.namespace!, pod.metadata!.name!);
}
