// The injection webhook's context: what the controller knows about a new pod's cluster (its
// persisted phase, what the workload must enforce, the Kibana's own Secret), read from the caches.
import type { V1Pod } from "@kubernetes/client-node";
import type { ClusterRef, Enforcement, Phase, Role } from "../../protocol/intent.ts";
import { ES_CLUSTER_LABEL, KIBANA_NAME_LABEL } from "../names.ts";
import { flatSettings, nodeSetOfPod } from "../policy/node-set-config.ts";
import type { ClientAuthentication, Elasticsearch, Kibana } from "../resources.ts";
import type { ObjectCache } from "../kube/informers.ts";
import { clusterOfPod } from "../kube/pod-cluster.ts";
import { enforcementForNewPods, isActive } from "../policy/phases.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";

/** What the controller knows about the pod's cluster; `undefined` means "not an mTLS cluster". */
export interface ClusterMode {
  /** The Elasticsearch cluster (for a Kibana pod: the one its elasticsearchRef names). */
  cluster: ClusterRef;
  role: Role;
  phase: Phase;
  enforcement: Enforcement;
  /** Kibana `elasticsearchRef.clientCertificateSecretName` (in the Kibana namespace). */
  kibanaUserSecret?: string;
  /**
   * Elasticsearch: `xpack.security.http.ssl.certificate_authorities` the user set in the pod's nodeSet
   * config. As in ECK they replace the HTTP CA default, and the trust bundle is appended.
   */
  userCertificateAuthorities?: string[];
}

export interface ClusterModeSources {
  elasticsearch: ObjectCache<Elasticsearch>;
  kibana: ObjectCache<Kibana>;
  /** The cluster's ClientAuthentication as last written (the writer's read-your-writes view). */
  clientAuthentication: (namespace: string, name: string) => ClientAuthentication | undefined;
  /**
   * Cross-namespace references. `authorize` answers from its short cache and asks the apiserver on a
   * miss, so any replica (a standby too, whose reconciler never ran) judges a Kibana pod as the leader
   * would; without `authorize`, a reference not judged yet counts as not allowed.
   */
  references?: Pick<ReferenceAuthorizer, "cached"> & Partial<Pick<ReferenceAuthorizer, "authorize">>;
}

/** The cluster mode of a new pod, or undefined for pods of clusters without an active phase. Throws when a reference cannot be judged. */
export async function clusterModeOf(pod: V1Pod, sources: ClusterModeSources): Promise<ClusterMode | undefined> {
  const cluster = clusterOfPod(pod, sources.kibana);
  if (!cluster) return undefined;
  const { namespace, name } = cluster;
  const phase = sources.clientAuthentication(namespace, name)?.status?.phase as Phase | undefined;
  if (!phase || !isActive(phase)) return undefined;
  const labels = pod.metadata?.labels ?? {};
  if (labels[ES_CLUSTER_LABEL]) {
    // New Elasticsearch pods start into `required` while enabling or enabled, and without it while disabling.
    const es = sources.elasticsearch.get(name, namespace);
    const cas = flatSettings(nodeSetOfPod(es, labels)?.config).get("xpack.security.http.ssl.certificate_authorities");
    return {
      cluster: { namespace, name },
      role: "elasticsearch",
      phase,
      enforcement: enforcementForNewPods(phase),
      ...(cas ? { userCertificateAuthorities: (Array.isArray(cas) ? cas : [cas]).map(String) } : {}),
    };
  }
  const kb = sources.kibana.get(labels[KIBANA_NAME_LABEL] ?? "", pod.metadata?.namespace);
  // A Kibana of another namespace is configured for this cluster only once its reference is
  // authorized; until then its pods are left alone (the reconciler restarts them once it is).
  const from = { namespace: pod.metadata?.namespace ?? "", serviceAccount: kb?.spec?.serviceAccountName || "default" };
  const refs = sources.references;
  const judged = refs && (refs.authorize ? await refs.authorize(from, { namespace, name }) : refs.cached(from, { namespace, name }));
  if (refs && judged?.allowed !== true) return undefined;
  const userSecret = kb?.spec?.elasticsearchRef?.clientCertificateSecretName;
  return { cluster: { namespace, name }, role: "kibana", phase, enforcement: "none", ...(userSecret ? { kibanaUserSecret: userSecret } : {}) };
}
