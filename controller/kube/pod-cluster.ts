// Which Elasticsearch cluster a pod belongs to: its own cluster label, or for a Kibana pod the
// cluster its Kibana's elasticsearchRef names. Used to queue reconciles, to pick the CA that signs
// a pod's CSR, and by the injection webhook.
import type { V1Pod } from "@kubernetes/client-node";
import type { ClusterRef } from "../../protocol/intent.ts";
import { ES_CLUSTER_LABEL, KIBANA_NAME_LABEL } from "../names.ts";
import type { Kibana } from "../resources.ts";
import type { ObjectCache } from "./informers.ts";

export function clusterOfPod(pod: V1Pod, kibanas: Pick<ObjectCache<Kibana>, "get">): ClusterRef | undefined {
  const labels = pod.metadata?.labels ?? {};
  const ns = pod.metadata?.namespace ?? "";
  if (labels[ES_CLUSTER_LABEL]) return { namespace: ns, name: labels[ES_CLUSTER_LABEL] };
  const kbName = labels[KIBANA_NAME_LABEL];
  if (kbName) {
    const ref = kibanas.get(kbName, ns)?.spec?.elasticsearchRef;
    if (ref?.name) return { namespace: ref.namespace || ns, name: ref.name };
  }
  return undefined;
}
