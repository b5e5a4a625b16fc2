// Which labelled client-certificate Secrets a cluster trusts. Labels alone can be set by
// anyone who can write a Secret, so a Secret also needs an ownerReference to an existing
// ECK object in its own namespace with the matching UID. As in ECK 3.5, any kind of an
// `*.k8s.elastic.co` API group counts (Agent, Beat, Logstash, ApmServer, ...): owners the
// caller caches are passed in, the others are looked up (verifyClientCertificateSecrets).
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterRef } from "../../protocol/intent.ts";
import {
  CLIENT_CERTIFICATE_LABEL,
  ECK_API_GROUP_SUFFIX,
  OWNER_KIND_LABEL,
  OWNER_NAME_LABEL,
  OWNER_NAMESPACE_LABEL,
} from "../names.ts";
import { secretKey, sortSecrets } from "./secret-order.ts";

/** The owner named by an ownerReference, looked for in the Secret's namespace. */
export interface OwnerQuery {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

type OwnerLookupResult =
  | { found: { uid: string } }
  /** The kind is served, the object does not exist in that namespace. */
  | { notFound: true }
  /** Why the owner cannot be verified (kind not served, not allowed to read it). */
  | { problem: string };

/** Reads an owner the caches do not hold (kube/owner-lookup.ts, or a fake); throws OwnerLookupError when the answer says nothing about the owner. */
export type OwnerLookup = (query: OwnerQuery) => Promise<OwnerLookupResult>;

/** An object that may own a client-certificate Secret, as seen in the controller's caches. */
export interface OwnerCandidate {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid: string;
}

interface SecretVerdict {
  secret: V1Secret;
  /** "namespace/name" of the Secret. */
  where: string;
  reason: string;
}

interface SourceSelection {
  /** Trusted sources, sorted by namespace/name. */
  selected: V1Secret[];
  /** Addressed to this cluster but not trusted. */
  rejected: SecretVerdict[];
  /** Addressed to another cluster, or not a client-certificate Secret at all. */
  ignored: SecretVerdict[];
}

/** Lookup results by lookupKey(namespace, group, kind, name). */
type LookedUpOwners = ReadonlyMap<string, OwnerLookupResult>;

/**
 * Judges Secrets against `owners` (the caller's caches) and, for owners of other kinds,
 * against `lookedUp` (see verifyClientCertificateSecrets). An ECK owner found in neither
 * is "not found".
 */
export function selectClientCertificateSecrets(
  secrets: readonly V1Secret[],
  owners: readonly OwnerCandidate[] | OwnerIndex,
  cluster: ClusterRef,
  lookedUp: LookedUpOwners = new Map(),
): SourceSelection {
  const ownerIndex = indexOwners(owners).byName;
  const selection: SourceSelection = { selected: [], rejected: [], ignored: [] };
  for (const secret of sortSecrets(secrets)) {
    const where = secretKey(secret);
    const labels = secret.metadata?.labels ?? {};
    if (labels[OWNER_NAME_LABEL] !== cluster.name || labels[OWNER_NAMESPACE_LABEL] !== cluster.namespace) {
      selection.ignored.push({ secret, where, reason: `soft-owner labels name ${labels[OWNER_NAMESPACE_LABEL] ?? "?"}/${labels[OWNER_NAME_LABEL] ?? "?"}, not ${cluster.namespace}/${cluster.name}` });
      continue;
    }
    const reason = labelProblem(labels) ?? ownerProblem(secret, ownerIndex, lookedUp);
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

/**
 * Verifies Secrets whose ECK owner is of a kind the caller does not cache by looking the
 * owner up (`lookupOwner`, e.g. kubeOwnerLookup). Kinds present in `owners` are taken
 * as complete and never looked up. A lookup that fails for a transient reason throws
 * (OwnerLookupError): better keep the current bundle than drop a trusted Secret.
 */
export async function verifyClientCertificateSecrets(
  secrets: readonly V1Secret[],
  owners: readonly OwnerCandidate[] | OwnerIndex,
  cluster: ClusterRef,
  lookupOwner: OwnerLookup,
): Promise<SourceSelection> {
  const index = indexOwners(owners);
  const first = selectClientCertificateSecrets(secrets, index, cluster);
  const { cachedKinds } = index;
  const lookedUp = new Map<string, OwnerLookupResult>();
  for (const { secret } of first.rejected) {
    if (labelProblem(secret.metadata?.labels ?? {})) continue;
    const namespace = secret.metadata?.namespace ?? "";
    for (const ref of eckReferences(secret)) {
      const group = apiGroup(ref.apiVersion);
      const key = lookupKey(namespace, group, ref.kind, ref.name);
      if (cachedKinds.has(`${group}\u0000${ref.kind}`) || lookedUp.has(key)) continue;
      lookedUp.set(key, await lookupOwner({ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace }));
    }
  }
  return lookedUp.size === 0 ? first : selectClientCertificateSecrets(secrets, index, cluster, lookedUp);
}

function lookupKey(namespace: string, group: string, kind: string, name: string): string {
  return `${namespace}\u0000${ownerKey(group, kind, name)}`;
}

function eckReferences(secret: V1Secret) {
  return (secret.metadata?.ownerReferences ?? []).filter((ref) => apiGroup(ref.apiVersion).endsWith(ECK_API_GROUP_SUFFIX));
}

function ownerProblem(secret: V1Secret, owners: ReadonlyMap<string, readonly OwnerCandidate[]>, lookedUp: LookedUpOwners): string | undefined {
  const namespace = secret.metadata?.namespace ?? "";
  const references = eckReferences(secret);
  if (references.length === 0) return `no ownerReference to an object of an API group ending in "${ECK_API_GROUP_SUFFIX}"`;
  const problems: string[] = [];
  for (const ref of references) {
    const described = `${ref.kind} ${ref.name} (${ref.apiVersion})`;
    const looked = lookedUp.get(lookupKey(namespace, apiGroup(ref.apiVersion), ref.kind, ref.name));
    if (looked && "problem" in looked) {
      problems.push(looked.problem);
      continue;
    }
    const found = looked && "found" in looked ? [{ apiVersion: ref.apiVersion, kind: ref.kind, name: ref.name, namespace, uid: looked.found.uid }] : [];
    const candidates = [...(owners.get(ownerKey(apiGroup(ref.apiVersion), ref.kind, ref.name)) ?? []), ...found];
    const sameNamespace = candidates.find((owner) => owner.namespace === namespace);
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

/**
 * Owners by API group, kind and name, and the kinds they cover: built once from the caches and
 * reused for every cluster while they are unchanged (the reconciler does; issue 21), instead of
 * once per Secret selection.
 */
export interface OwnerIndex {
  readonly byName: ReadonlyMap<string, readonly OwnerCandidate[]>;
  /** "group\0kind" of every owner: kinds the caller caches whole, never looked up. */
  readonly cachedKinds: ReadonlySet<string>;
}

export function indexOwners(owners: readonly OwnerCandidate[] | OwnerIndex): OwnerIndex {
  if (!Array.isArray(owners)) return owners as OwnerIndex;
  const byName = new Map<string, OwnerCandidate[]>();
  const cachedKinds = new Set<string>();
  for (const owner of owners as readonly OwnerCandidate[]) {
    const group = apiGroup(owner.apiVersion);
    const key = ownerKey(group, owner.kind, owner.name);
    const same = byName.get(key);
    if (same) same.push(owner);
    else byName.set(key, [owner]);
    cachedKinds.add(`${group}\u0000${owner.kind}`);
  }
  return { byName, cachedKinds };
}

/** Owners match by API group, not version: a v1beta1 reference still names the same object. */
function ownerKey(group: string, kind: string, name: string): string {
  return `${group}\u0000${kind}\u0000${name}`;
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}
