// Step: the cluster's client CA Secret, kept in the controller's namespace (DESIGN "Tenancy": CA keys
// stay there). An ownerReference cannot cross namespaces, so the garbage collector does not delete
// it: the controller does, when the cluster is disabled or deleted, and a sweep (at the start of a
// leadership and on every resync) deletes any whose cluster UID no longer exists. Only Secrets with
// es-mtls's labels are ever deleted. No Secret in a workload namespace is ever key material: a tenant
// can write es-mtls's label and an ownerReference to the Elasticsearch's UID there as well as
// anyone (issue 18), so a `<es>-es-client-ca` there, however labelled, is neither used nor touched.
import type { V1Secret } from "@kubernetes/client-node";
import {
  CA_CLUSTER_NAMESPACE_LABEL,
  CA_CLUSTER_NAME_LABEL,
  CA_CLUSTER_UID_LABEL,
  clientCaSecretName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from "../names.ts";
import { caSecretRelation } from "../policy/ownership.ts";
import { log } from "../log.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

type Deps = Pick<ReconcilerDeps, "caches" | "writer" | "pki">;

/** The cluster's CA Secret in the controller's namespace, if there is one (a stale one of a deleted namesake cluster is deleted first). */
export async function findCaSecret(c: ClusterView, d: Deps): Promise<V1Secret | undefined> {
  const ns = d.pki.caNamespace;
  const name = clientCaSecretName(c.namespace, c.name);
  let existing = d.writer.fresh("Secret", ns, name, d.caches.caSecrets.get(name, ns));
  if (existing && caSecretRelation(existing, c.es) === "stale") {
    log.info("deleting the client CA of a deleted cluster of the same name", { cluster: c.key });
    await d.writer.deleteSecret(ns, name, existing.metadata?.uid);
    return undefined;
  }
  return existing;
}

/** es-mtls's label and a cluster UID label: the only Secrets the deletions below may touch. */
const isCaSecret = (s: V1Secret) => s.metadata?.labels?.[MANAGED_BY_LABEL] === MANAGED_BY && !!s.metadata.labels[CA_CLUSTER_UID_LABEL];

/** Deletes every CA Secret es-mtls labelled for the cluster namespace/name (its Elasticsearch is gone or disabled). */
export async function deleteClusterCas(namespace: string, name: string, d: Deps): Promise<void> {
  for (const s of d.caches.caSecrets.list(d.pki.caNamespace)) {
    const labels = s.metadata?.labels ?? {};
    if (isCaSecret(s) && labels[CA_CLUSTER_NAMESPACE_LABEL] === namespace && labels[CA_CLUSTER_NAME_LABEL] === name) {
      await d.writer.deleteSecret(d.pki.caNamespace, s.metadata!.name!, s.metadata?.uid);
    }
  }
}

/** Deletes the CA Secrets whose cluster UID no Elasticsearch has any more (missed delete events, a controller that was down). */
export async function sweepOrphanCas(d: Deps): Promise<number> {
  const live = new Set(d.caches.elasticsearch.list().map((es) => es.metadata.uid));
  let deleted = 0;
  for (const s of d.caches.caSecrets.list(d.pki.caNamespace)) {
    if (!isCaSecret(s) || live.has(s.metadata!.labels![CA_CLUSTER_UID_LABEL]!)) continue;
    await d.writer.deleteSecret(d.pki.caNamespace, s.metadata!.name!, s.metadata?.uid);
    deleted++;
  }
  if (deleted) log.info("deleted client CA Secrets of clusters that no longer exist", { count: deleted });
  return deleted;
}
