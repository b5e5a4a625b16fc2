// Step: the cluster's client CA Secret, kept in the controller's namespace (DESIGN "Tenancy": CA keys
// stay there). An ownerReference cannot cross namespaces, so the garbage collector does not delete
// it: the controller does, when the cluster is disabled or deleted, and a sweep (at the start of a
// leadership and on every resync) deletes any whose cluster UID no longer exists. Only Secrets with
// es-mtls's labels are ever deleted. An earlier es-mtls kept the CA as `<es>-es-client-ca` in the
// workload namespace: an own one (label and ownerReference) is copied over, the same CA, so no
// client is refused, and then deleted; a foreign one of that name is neither used nor touched.
import type { V1Secret } from "@kubernetes/client-node";
import {
  CA_CLUSTER_NAMESPACE_LABEL,
  CA_CLUSTER_NAME_LABEL,
  CA_CLUSTER_UID_LABEL,
  clientCaSecretName,
  legacyClientCaSecretName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
} from "../names.ts";
import { caSecretRelation, isOwnSecret } from "../policy/ownership.ts";
import { log } from "../log.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

type Deps = Pick<ReconcilerDeps, "caches" | "writer" | "pki">;

interface CaSecrets {
  /** The cluster's own CA Secret in the controller's namespace, if there is one. */
  existing?: V1Secret;
  /** An earlier es-mtls's own CA Secret in the workload namespace, to move over and then delete. */
  legacy?: V1Secret;
}

/** The CA Secret to use (a stale one of a deleted namesake cluster is deleted first) and an own legacy one. */
export async function findCaSecrets(c: ClusterView, d: Deps): Promise<CaSecrets> {
  const ns = d.pki.caNamespace;
  const name = clientCaSecretName(c.namespace, c.name);
  let existing = d.writer.fresh("Secret", ns, name, d.caches.caSecrets.get(name, ns));
  if (existing && caSecretRelation(existing, c.es) === "stale") {
    log.info("deleting the client CA of a deleted cluster of the same name", { cluster: c.key });
    await d.writer.deleteSecret(ns, name, existing.metadata?.uid);
    existing = undefined;
  }
  // The cache holds only Secrets with es-mtls's label; isOwnSecret also wants the ownerReference (UID).
  const legacy = c.managedSecret(legacyClientCaSecretName(c.name));
  return { ...(existing ? { existing } : {}), ...(legacy && isOwnSecret(legacy, c.es) ? { legacy } : {}) };
}

/** Once the CA is in the controller's namespace, the own copy in the workload namespace goes. */
export async function dropLegacyCa(c: ClusterView, legacy: V1Secret | undefined, d: Pick<Deps, "writer">): Promise<void> {
  if (!legacy) return;
  await d.writer.deleteSecret(c.namespace, legacy.metadata!.name!, legacy.metadata?.uid);
  log.info("deleted the client CA Secret from the workload namespace", { cluster: c.key, secret: legacy.metadata!.name });
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
