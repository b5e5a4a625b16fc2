// Whose object is it? es-mtls writes and deletes only what it created: its managed-by label AND
// an ownerReference to this very Elasticsearch (UID included). An object of the same name that
// lacks either (planted, or another controller's, such as ECK's own <es>-es-client-trust-bundle)
// is reported, never adopted, overwritten or deleted.
import type { V1Secret } from "@kubernetes/client-node";
import type { Elasticsearch } from "../resources.ts";
import { MANAGED_BY, MANAGED_BY_LABEL, CA_CLUSTER_NAMESPACE_LABEL, CA_CLUSTER_NAME_LABEL, CA_CLUSTER_UID_LABEL } from "../names.ts";

export function isOwnSecret(secret: V1Secret, es: Elasticsearch): boolean {
  if (secret.metadata?.labels?.[MANAGED_BY_LABEL] !== MANAGED_BY) return false;
  return (secret.metadata?.ownerReferences ?? []).some((o) => o.kind === "Elasticsearch" && o.uid === es.metadata.uid && o.controller === true);
}

/** Why `secret` is not ours, for the Event and the condition. */
export function foreignReason(secret: V1Secret, es: Elasticsearch): string {
  const name = `${secret.metadata?.namespace}/${secret.metadata?.name}`;
  const manager = secret.metadata?.labels?.[MANAGED_BY_LABEL];
  if (manager !== MANAGED_BY) return `Secret ${name} exists and is not es-mtls's (label ${MANAGED_BY_LABEL}=${manager ?? "absent"}); es-mtls neither adopts nor overwrites it`;
  return `Secret ${name} carries es-mtls's label but no controller ownerReference to Elasticsearch ${es.metadata.namespace}/${es.metadata.name} (uid ${es.metadata.uid}); es-mtls neither adopts nor overwrites it`;
}

/**
 * A CA Secret in the controller's namespace cannot carry an ownerReference to an Elasticsearch
 * in another namespace: its labels say whose it is. `own` = es-mtls's and this very cluster's
 * (UID included); `stale` = es-mtls's for a cluster of that namespace/name whose UID is gone
 * (deleted and re-created); `foreign` = anything else.
 */
export function caSecretRelation(secret: V1Secret, es: Elasticsearch): "own" | "stale" | "foreign" {
  const labels = secret.metadata?.labels ?? {};
  if (labels[MANAGED_BY_LABEL] !== MANAGED_BY) return "foreign";
  if (labels[CA_CLUSTER_NAMESPACE_LABEL] !== es.metadata.namespace || labels[CA_CLUSTER_NAME_LABEL] !== es.metadata.name || !labels[CA_CLUSTER_UID_LABEL]) return "foreign";
  return labels[CA_CLUSTER_UID_LABEL] === es.metadata.uid ? "own" : "stale";
}

/** Why a CA Secret in the controller's namespace is not this cluster's. */
export function foreignCaReason(secret: V1Secret, es: Elasticsearch): string {
  return `Secret ${secret.metadata?.namespace}/${secret.metadata?.name} exists in the controller's namespace without es-mtls's labels for Elasticsearch ${es.metadata.namespace}/${es.metadata.name}; es-mtls neither adopts nor overwrites it`;
}
