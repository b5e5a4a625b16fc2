// Which clusters a changed object affects: the cache's change handler queues a reconcile of each.
// Pure over the caches it is given (a test passes fakes); a cluster is keyed `namespace/name`.
import type * as k8s from "@kubernetes/client-node";
import type { CacheViews, Kind } from "./kube/informers.ts";
import { clusterOfPod } from "./kube/pod-cluster.ts";
import type { ClusterRef } from "../protocol/intent.ts";
import { CA_CLUSTER_NAMESPACE_LABEL, CA_CLUSTER_NAME_LABEL, ES_CLUSTER_LABEL, KIBANA_NAME_LABEL } from "./names.ts";
import { key, type Kibana } from "./resources.ts";
import { OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from "./names.ts";

/** What routing reads: the Elasticsearch list and the Kibanas (a Kibana's pods and refs name a cluster). */
type RoutingCaches = Pick<CacheViews, "elasticsearch" | "kibana">;

/** Which clusters a changed object can affect. */
export function clustersOf(caches: RoutingCaches, kind: Kind, obj: k8s.KubernetesObject): string[] {
  const ns = obj.metadata?.namespace ?? "";
  const labels = obj.metadata?.labels ?? {};
  switch (kind) {
    case "elasticsearch":
    case "clientauth":
      return [`${ns}/${obj.metadata!.name}`];
    case "kibana": {
      const ref = (obj as Kibana).spec?.elasticsearchRef;
      return ref?.name ? [`${ref.namespace || ns}/${ref.name}`] : [];
    }
    case "clientCertSecret":
      return labels[OWNER_NAME_LABEL] ? [`${labels[OWNER_NAMESPACE_LABEL] || ns}/${labels[OWNER_NAME_LABEL]}`] : [];
    case "managedSecret":
      // A client CA lives in the controller's namespace and names its cluster by labels.
      if (labels[CA_CLUSTER_NAME_LABEL]) return [`${labels[CA_CLUSTER_NAMESPACE_LABEL]}/${labels[CA_CLUSTER_NAME_LABEL]}`];
      return labels[ES_CLUSTER_LABEL] ? [`${ns}/${labels[ES_CLUSTER_LABEL]}`] : [];
    case "pod": {
      const c = clusterOfPod(obj as k8s.V1Pod, caches.kibana);
      return c ? [key(c.namespace, c.name)] : [];
    }
    case "license":
      return allClusters(caches);
    case "namespace": {
      // The active label changed (by us, or a user removed it): re-judge what lives there.
      const ns = obj.metadata!.name!;
      return [...allClusters(caches).filter((k) => k.startsWith(`${ns}/`)), ...caches.kibana.list(ns).flatMap((kb) => clustersOf(caches, "kibana", kb))];
    }
  }
}

/**
 * The clusters whose intents a changed pod, or the pods of a changed Kibana, hold: the pod may have
 * left that cluster (a re-pointed Kibana, a relabelled pod), and that cluster's reconcile withdraws
 * the intent it published (reconcile/publish.ts). `heldBy` is the intent store's `clusterOf`.
 */
export function intentClustersOf(caches: Pick<CacheViews, "pods">, heldBy: (namespace: string, name: string) => ClusterRef | undefined, kind: Kind, obj: k8s.KubernetesObject): string[] {
  const ns = obj.metadata?.namespace ?? "";
  const pods = kind === "pod" ? [obj] : kind === "kibana" ? caches.pods.list(ns).filter((p) => p.metadata?.labels?.[KIBANA_NAME_LABEL] === obj.metadata?.name) : [];
  return pods.flatMap((p) => {
    const c = heldBy(ns, p.metadata?.name ?? "");
    return c ? [key(c.namespace, c.name)] : [];
  });
}

/** Every cluster in the cache. */
export function allClusters(caches: Pick<CacheViews, "elasticsearch">): string[] {
  return caches.elasticsearch.list().map((es) => `${es.metadata.namespace}/${es.metadata.name}`);
}
