// Whose object is it? es-mtls writes and deletes only what it created: its managed-by label AND
// an ownerReference to this very Elasticsearch (UID included). An object of the same name that
// lacks either (planted, or another controller's, such as ECK's own <es>-es-client-trust-bundle)
// is reported, never adopted, overwritten or deleted.
import type { V1Secret } from "@kubernetes/client-node";
import type { Elasticsearch } from "../kube/resources.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../trust/target.ts";

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
