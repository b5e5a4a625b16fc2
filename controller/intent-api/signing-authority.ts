// May a pod's CSR be signed for the cluster its intent names, now? An intent is what the cluster
// published for the pod at some point; the pod may have left that cluster since (a Kibana
// re-pointed, a label changed) or its cross-namespace reference may have lost its RBAC. So at
// signing time the pod must still belong to the intent's cluster (the one whose CA signs: never the
// CA of the cluster the pod names now), and a Kibana of another namespace must still be allowed to
// `get` that Elasticsearch, asked afresh (issue 18: a stale intent signed by another namespace's CA).
import type { V1Pod } from "@kubernetes/client-node";
import type { ClusterRef, PodRef } from "../../protocol/intent.ts";
import { KIBANA_NAME_LABEL } from "../names.ts";
import type { Kibana } from "../resources.ts";
import type { ObjectCache } from "../kube/informers.ts";
import { clusterOfPod } from "../kube/pod-cluster.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";

type SigningDecision = { ok: true } | { ok: false; reason: string };
/** The decision for one CSR of `pod`, whose intent names `cluster`. */
export type SigningAuthority = (pod: PodRef, cluster: ClusterRef) => Promise<SigningDecision>;

interface SigningAuthorityDeps {
  pods: (namespace: string, name: string) => V1Pod | undefined;
  kibanas: Pick<ObjectCache<Kibana>, "get">;
  references: Pick<ReferenceAuthorizer, "authorize">;
}

const show = (c: ClusterRef | undefined) => (c ? `${c.namespace}/${c.name}` : "no cluster");

export function signingAuthority(d: SigningAuthorityDeps): SigningAuthority {
  return async (pod, cluster) => {
    const where = `pod ${pod.namespace}/${pod.name}`;
    const current = d.pods(pod.namespace, pod.name);
    if (!current || current.metadata?.uid !== pod.uid) return { ok: false, reason: `${where} (uid ${pod.uid}) no longer exists` };
    const now = clusterOfPod(current, d.kibanas);
    if (!now || now.namespace !== cluster.namespace || now.name !== cluster.name) {
      return { ok: false, reason: `${where} has an intent of cluster ${show(cluster)} but belongs to ${show(now)} now: not signed by either cluster's CA (the intent is stale)` };
    }
    const kibanaName = current.metadata?.labels?.[KIBANA_NAME_LABEL];
    if (kibanaName && pod.namespace !== cluster.namespace) {
      const kb = d.kibanas.get(kibanaName, pod.namespace);
      const decision = await d.references.authorize({ namespace: pod.namespace, serviceAccount: kb?.spec?.serviceAccountName || "default" }, cluster, { fresh: true });
      if (!decision.allowed) return { ok: false, reason: `${where}: Kibana ${pod.namespace}/${kibanaName} may no longer reference cluster ${show(cluster)}: ${decision.reason}` };
    }
    return { ok: true };
  };
}
