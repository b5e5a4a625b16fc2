// Which labelled client-certificate Secrets a cluster trusts. Labels alone can be set by
// anyone who can write a Secret, so a Secret also needs an ownerReference to an existing
// ECK object in its own namespace with the matching UID.
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterRef } from "../../protocol/intent.ts";
import {
  CLIENT_CERTIFICATE_LABEL,
  ECK_API_GROUP_SUFFIX,
  OWNER_KIND_LABEL,
  OWNER_NAME_LABEL,
  OWNER_NAMESPACE_LABEL,
} from "./labels.ts";
import { secretKey, sortSecrets } from "./secret-order.ts";

/** An object that may own a client-certificate Secret, as seen in the controller's caches. */
export interface OwnerCandidate {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

export interface SecretVerdict {
  secret: V1Secret;
  /** "namespace/name" of the Secret. */
  where: string;
  reason: string;
}

export interface SourceSelection {
  /** Trusted sources, sorted by namespace/name. */
  selected: V1Secret[];
  /** Addressed to this cluster but not trusted. */
  rejected: SecretVerdict[];
  /** Addressed to another cluster, or not a client-certificate Secret at all. */
  ignored: SecretVerdict[];
}

export function selectClientCertificateSecrets(
  secrets: readonly V1Secret[],
  owners: readonly OwnerCandidate[],
  cluster: ClusterRef,
): SourceSelection {
  const ownerIndex = indexOwners(owners);
  const selection: SourceSelection = { selected: [], rejected: [], ignored: [] };
  for (const secret of sortSecrets(secrets)) {
    const where = secretKey(secret);
    const labels = secret.metadata?.labels ?? {};
    if (labels[OWNER_NAME_LABEL] !== cluster.name || labels[OWNER_NAMESPACE_LABEL] !== cluster.namespace) {
      selection.ignored.push({ secret, where, reason: `soft-owner labels name ${labels[OWNER_NAMESPACE_LABEL] ?? "?"}/${labels[OWNER_NAME_LABEL] ?? "?"}, not ${cluster.namespace}/${cluster.name}` });
      continue;
    }
    const reason = labelProblem(labels) ?? ownerProblem(secret, ownerIndex);
    if (reason) selection.rejected.push({ secret, where, reason });
    else selection.selected.push(secret);
  }
  return selection;
}

function labelProblem(labels: Record<string, string>): string | undefined {
  if (labels[OWNER_KIND_LABEL] !== "Elasticsearch") {
    return `label ${OWNER_KIND_LABEL} is ${JSON.stringify(labels[OWNER_KIND_LABEL] ?? null)}, want "Elasticsearch"`;
  }
  if (labels[CLIENT_CERTIFICATE_LABEL] !== "true") {
    return `label ${CLIENT_CERTIFICATE_LABEL} is ${JSON.stringify(labels[CLIENT_CERTIFICATE_LABEL] ?? null)}, want "true"`;
  }
  return undefined;
}

function ownerProblem(secret: V1Secret, owners: Map<string, OwnerCandidate[]>): string | undefined {
  const namespace = secret.metadata?.namespace ?? "";
  const references = (secret.metadata?.ownerReferences ?? []).filter((ref) => apiGroup(ref.apiVersion).endsWith(ECK_API_GROUP_SUFFIX));
  if (references.length === 0) return `no ownerReference to an object of an API group ending in "${ECK_API_GROUP_SUFFIX}"`;
  const problems: string[] = [];
  for (const ref of references) {
    const candidates = owners.get(ownerKey(apiGroup(ref.apiVersion), ref.kind, ref.name)) ?? [];
    const sameNamespace = candidates.find((owner) => owner.namespace === namespace);
    const described = `${ref.kind} ${ref.name} (${ref.apiVersion})`;
    if (!sameNamespace) {
      const elsewhere = candidates.map((owner) => owner.namespace);
      problems.push(elsewhere.length > 0
        ? `owner ${described} exists only in namespace ${elsewhere.join(", ")}, not in the Secret's namespace ${namespace}`
        : `owner ${described} not found in namespace ${namespace}`);
    } else if (sameNamespace.uid !== ref.uid) {
      problems.push(`owner ${described} has UID ${sameNamespace.uid}, the ownerReference says ${ref.uid}`);
    } else {
      return undefined;
    }
  }
  return `no verified ECK ownerReference: ${problems.join("; ")}`;
}

function indexOwners(owners: readonly OwnerCandidate[]): Map<string, OwnerCandidate[]> {
  const index = new Map<string, OwnerCandidate[]>();
  for (const owner of owners) {
    const key = ownerKey(apiGroup(owner.apiVersion), owner.kind, owner.name);
    index.set(key, [...(index.get(key) ?? []), owner]);
  }
  return index;
}

/** Owners match by API group, not version: a v1beta1 reference still names the same object. */
function ownerKey(group: string, kind: string, name: string): string {
  return `${group}\u0000${kind}\u0000${name}`;
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}
