// The desired `<es>-es-client-trust-bundle` Secret and a comparison that lets the
// reconciler skip writes when nothing it manages has changed.
import type { V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import type { ClusterRef, TrustBundle } from "../../protocol/intent.ts";
import { ES_CLUSTER_LABEL, MANAGED_BY, MANAGED_BY_LABEL, TRUST_BUNDLE_HASH_ANNOTATION, TRUST_BUNDLE_KEY, trustBundleSecretName } from "../names.ts";
import { apiVersionOf, ELASTICSEARCH } from "../resources.ts";
import { sha256Hex } from "../../common/digest.ts";

/**
 * A Secret as kube/secret-reader.ts's WholeSecretKeeper keeps it: the values of its digest keys are
 * not in `data` but in `dataSha256` (SHA-256 hex of the base64 value as stored), for readers that
 * only compare them (the drift check below).
 */
export type KeptSecret = V1Secret & { dataSha256?: Record<string, string> };

interface ElasticsearchOwner extends ClusterRef {
  uid: string;
  /** Default "elasticsearch.k8s.elastic.co/v1". */
  apiVersion?: string;
}

export function desiredTrustBundleSecret(es: ElasticsearchOwner, bundle: TrustBundle): V1Secret {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: {
      name: trustBundleSecretName(es.name),
      namespace: es.namespace,
      labels: { [ES_CLUSTER_LABEL]: es.name, [MANAGED_BY_LABEL]: MANAGED_BY },
      annotations: { [TRUST_BUNDLE_HASH_ANNOTATION]: bundle.sha256 },
      ownerReferences: [
        {
          apiVersion: es.apiVersion ?? apiVersionOf(ELASTICSEARCH),
          kind: ELASTICSEARCH.kind,
          name: es.name,
          uid: es.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ],
    },
    data: { [TRUST_BUNDLE_KEY]: btoa(bundle.pem) },
  };
}

/**
 * What differs between the stored Secret and the desired one, limited to what this
 * controller manages (other labels, annotations and data keys are left to their owners).
 */
export function trustBundleDrift(existing: KeptSecret | undefined, desired: V1Secret): string[] {
  if (!existing) return ["Secret does not exist"];
  const drift: string[] = [];
  if (!sameData(existing, desired.data?.[TRUST_BUNDLE_KEY])) drift.push(`data ${TRUST_BUNDLE_KEY} differs`);
  if ((existing.type ?? "Opaque") !== desired.type) drift.push(`type is ${existing.type}, want ${desired.type}`);
  for (const [key, value] of Object.entries(desired.metadata?.labels ?? {})) {
    if (existing.metadata?.labels?.[key] !== value) drift.push(`label ${key} differs`);
  }
  for (const [key, value] of Object.entries(desired.metadata?.annotations ?? {})) {
    if (existing.metadata?.annotations?.[key] !== value) drift.push(`annotation ${key} differs`);
  }
  for (const want of desired.metadata?.ownerReferences ?? []) {
    if (!(existing.metadata?.ownerReferences ?? []).some((have) => sameOwner(have, want))) {
      drift.push(`ownerReference to ${want.kind} ${want.name} (uid ${want.uid}) missing`);
    }
  }
  return drift;
}

export function isUpToDate(existing: KeptSecret | undefined, desired: V1Secret): boolean {
  return trustBundleDrift(existing, desired).length === 0;
}

/** The stored bundle as it is kept: its value, or only the SHA-256 of its base64 (KeptSecret). */
function sameData(existing: KeptSecret, want: string | undefined): boolean {
  const value = existing.data?.[TRUST_BUNDLE_KEY];
  if (value !== undefined || want === undefined) return value === want;
  const digest = existing.dataSha256?.[TRUST_BUNDLE_KEY];
  return digest !== undefined && digest === sha256Hex(want);
}

function sameOwner(have: V1OwnerReference, want: V1OwnerReference): boolean {
  return have.uid === want.uid && have.kind === want.kind && have.name === want.name && have.controller === want.controller;
}
