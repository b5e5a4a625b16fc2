// Step: the Elasticsearch is gone: its owned Secrets and status go with it (ownerReferences); its CA
// Secret in the controller's namespace cannot be owned across namespaces, so it is deleted here.
import { deleteClusterCas } from "./ca-secret.ts";
import type { ClusterMemory } from "./memory.ts";
import { podsLabelledFor } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function cleanUpGone(key: string, memory: ClusterMemory, d: Pick<ReconcilerDeps, "caches" | "writer" | "pki" | "intents">): Promise<{ requeueAfterMs?: number }> {
  const [namespace, name] = key.split("/") as [string, string];
  memory.forget(key);
  await deleteClusterCas(namespace, name, d);
  for (const pod of podsLabelledFor(namespace, name, d.caches)) d.intents.remove(namespace, pod.metadata!.name!);
  d.intents.withdrawExcept({ namespace, name }, []); // every intent it published, Kibanas' of other namespaces included
  return {};
}
