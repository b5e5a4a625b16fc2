// Step: the cluster's trust bundle (source → bundle → target): select the labelled client-certificate
// Secrets the cluster trusts (by their cached metadata), read the data of those that count (own
// namespace first, then authorized other namespaces, in trust/tenancy.ts's order; kube/secret-reader.ts),
// build the bundle from its CAs, those Secrets and the Kibanas' pinned certificates, report every
// rejected input on the Secret and the Elasticsearch, and write the bundle Secret when it differs.
import type { V1Secret } from "@kubernetes/client-node";
import { ELASTICSEARCH, KIBANA, apiVersionOf, type Condition, type Elasticsearch } from "../resources.ts";
import type { CacheViews } from "../kube/informers.ts";
import { buildTrustBundle, EmptyTrustBundleError, trustParseCache, type TrustBundleResult } from "../trust/bundle.ts";
import { indexOwners, verifyClientCertificateSecrets, type OwnerIndex } from "../trust/sources.ts";
import type { OwnerLookup } from "../trust/sources.ts";
import { EventBatch } from "../kube/events.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";
import { splitAtNamespace, tenancyOrder, type ForeignSource, type LoadedSecret } from "../trust/tenancy.ts";
import { TRUST_BUNDLE_LIMITS, formatSize } from "../trust/limits.ts";
import { desiredTrustBundleSecret, isUpToDate } from "../trust/target.ts";
import { OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL, trustBundleSecretName } from "../names.ts";
import { cond } from "../status/conditions.ts";
import { metrics } from "../metrics.ts";
import type { ClientCas } from "./cluster-pki.ts";
import type { KibanaIdentity } from "./kibana.ts";
import { esTarget, secretTarget } from "./event-targets.ts";
import type { ClusterWriter, EventSink, SecretReader } from "./deps.ts";
import { CertificateDataReader } from "../kube/secret-reader.ts";
import { ownManagedSecret } from "./view.ts";
import { changesSince, indexOf, nsKey } from "./cache-index.ts";

/**
 * tls.crt of labelled Secrets, read on demand and kept within the per-source limit (shared by every
 * cluster) as the bundle's parse cache's scan of it, not as text next to it (issue 21, third pass);
 * a Secret's parse leaves the parse cache with it (issue 21: after a burst of Secrets created and
 * deleted, their parses were what stayed).
 */
const certificateData = new CertificateDataReader(TRUST_BUNDLE_LIMITS.maxSourceBytes, {
  keep: (text) => trustParseCache.get(text),
  holds: (scan) => trustParseCache.holds(scan),
  drop: (scan) => trustParseCache.drop(scan),
});

export async function publishTrustBundle(
  es: Elasticsearch,
  cas: ClientCas,
  identities: KibanaIdentity[],
  d: { caches: CacheViews; writer: ClusterWriter; events: EventSink; ownerLookup: OwnerLookup; references: ReferenceAuthorizer; readSecret: SecretReader },
): Promise<{ bundle: TrustBundleResult; condition: Condition }> {
  const { namespace, name } = es.metadata;
  const bundle = await buildBundle(es, cas, identities, d);
  const condition = bundle.rejected.length
    ? cond("TrustBundleValid", "False", "InputsRejected", `${bundle.rejected.length} input(s) left out of the trust bundle (${countByCode(bundle)}); see Events`)
    : cond("TrustBundleValid", "True", "AllInputsValid", `${bundle.included.length} certificate(s) trusted`);
  metrics.set("es_mtls_controller_trust_bundle_certificates", { cluster: `${namespace}/${name}` }, bundle.included.length);
  const desired = desiredTrustBundleSecret({ namespace, name, uid: es.metadata.uid, apiVersion: es.apiVersion }, bundle);
  const existing = await ownManagedSecret(es, trustBundleSecretName(name), d);
  if (!isUpToDate(existing, desired)) await d.writer.apply(desired);
  return { bundle, condition };
}

/**
 * When the cluster must be reconciled again for its bundle: a second after the earliest notAfter
 * among the included certificates, so an expiring user certificate leaves the bundle then, not at
 * the next resync (issue 8). Infinity for an empty bundle.
 */
export function bundleRequeueMs(bundle: Pick<TrustBundleResult, "included">, now = new Date()): number {
  const earliest = Math.min(...bundle.included.map((x) => Date.parse(x.notAfter)));
  return earliest === Infinity ? Infinity : Math.max(250, earliest - now.getTime() + 1000);
}

/** "3 BundleLimitReached, 1 MalformedBlock": the status says how many of each, the Events say which. */
function countByCode(bundle: TrustBundleResult): string {
  const counts = new Map<string, number>();
  for (const r of bundle.rejected) counts.set(r.code, (counts.get(r.code) ?? 0) + 1);
  return [...counts].map(([code, n]) => `${n} ${code}`).join(", ");
}

/**
 * Events: one per Secret for what its owner can fix in it; on the Elasticsearch one Event per
 * cause (aggregated, with a count), so thousands of Secrets make a handful of Events, not thousands.
 */
async function buildBundle(
  es: Elasticsearch,
  cas: ClientCas,
  identities: KibanaIdentity[],
  d: { caches: CacheViews; events: EventSink; ownerLookup: OwnerLookup; references: ReferenceAuthorizer; readSecret: SecretReader },
): Promise<TrustBundleResult> {
  const cluster = { namespace: es.metadata.namespace, name: es.metadata.name };
  // Only the Secrets whose soft-owner labels name this cluster: the others are ignored by the
  // selection anyway, and judging all of them for every cluster was O(clusters²) per resync.
  // Selection sorts what it is given (trust/sources.ts): any order within the group will do.
  const addressed = indexOf(d.caches.clientCertSecrets, "soft-owner", softOwnerKey, { anyOrder: true }).get(nsKey(cluster.namespace, cluster.name)) ?? [];
  // Deleted (or unlabelled) Secrets' data goes: from the cache's deletions since, not a scan of all
  // 10,000 (60 % of a change's reconcile at 1,000 clusters; issue 21).
  const changed = changesSince(d.caches.clientCertSecrets, "prune");
  if (changed === "all") certificateData.prune(d.caches.clientCertSecrets.list());
  else for (const c of changed) if (c.type === "delete") certificateData.forget(c.obj.metadata!.namespace!, c.obj.metadata!.name!);
  const selection = await verifyClientCertificateSecrets([...addressed], cachedOwners(d.caches), cluster, d.ownerLookup);
  const onCluster = new EventBatch(d.events);
  for (const r of selection.rejected) {
    await d.events.record(secretTarget(r.secret), "Warning", "UntrustedClientCertificate", `not trusted by Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.reason}`);
    const foreign = r.secret.metadata?.namespace !== cluster.namespace;
    onCluster.add(esTarget(es), "Warning", "UntrustedClientCertificate", "labelled Secret(s) not trusted, see each Secret's Events", foreign ? `a Secret in namespace ${r.secret.metadata?.namespace}` : r.where);
  }
  const pinnedUserSecrets = identities.flatMap((k) => (k.ok && k.pinned ? [k.pinned] : []));
  const load = async (meta: V1Secret) => certificateData.read(meta, d.readSecret);
  const sources = await tenancyOrdered(selection.selected, pinnedUserSecrets, cluster, { ...d, load });
  for (const r of sources.refused) {
    await d.events.record(secretTarget(r.secret), "Warning", "UntrustedClientCertificate", `not trusted by Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.reason}`);
    // Names of another namespace's objects stay out of this namespace's Events: a count only.
    onCluster.add(esTarget(es), "Warning", "UntrustedClientCertificate", "labelled Secret(s) of other namespaces not trusted (not authorized or over their namespace's budget)", r.secret.metadata!.namespace!);
  }
  const caCertificates = [
    { label: "client CA (current)", pem: cas.current.certificate.toString("pem") },
    ...(cas.previous ? [{ label: "client CA (previous)", pem: cas.previous.certificate.toString("pem") }] : []),
  ];
  let bundle: TrustBundleResult;
  try {
    bundle = await buildTrustBundle({ caCertificates, secrets: sources.ordered, presorted: true });
  } catch (e) {
    // Cannot happen while the CA is valid; never publish an empty bundle.
    if (e instanceof EmptyTrustBundleError) throw new EmptyTrustBundleError(e.rejected, `trust bundle of ${cluster.namespace}/${cluster.name} would be empty`);
    throw e;
  }
  const secretsByWhere = new Map<string, V1Secret>([...selection.selected, ...pinnedUserSecrets].map((s) => [`Secret ${s.metadata!.namespace}/${s.metadata!.name}`, s]));
  for (const r of bundle.rejected) {
    const what = `${r.source}${r.block ? ` block ${r.block}` : ""}`;
    // "Secret ns/name tls.crt" → "Secret ns/name" (names hold no space): a lookup, not a scan of
    // every Secret per rejection (issue 21: 3,000 rejections × 5,000 Secrets copied 15 M entries).
    const secret = secretsByWhere.get(r.source.split(" ", 2).join(" "));
    // The bundle limit is nobody's fault in particular: said once, on the cluster, not on each Secret.
    if (secret && r.code !== "BundleLimitReached") {
      await d.events.record(secretTarget(secret), "Warning", "ClientCertificateRejected", `left out of the trust bundle of Elasticsearch ${cluster.namespace}/${cluster.name}: ${what}: ${r.reason}`);
    }
    const cause = r.code === "BundleLimitReached" ? `over the ${formatSize(TRUST_BUNDLE_LIMITS.maxBundleBytes)} bundle limit` : "see each Secret's Events";
    onCluster.add(esTarget(es), "Warning", "ClientCertificateRejected", `input(s) left out of the trust bundle (${r.code}: ${cause})`, what);
  }
  await onCluster.flush();
  return bundle;
}

/** The cluster a labelled Secret's soft-owner labels name; none without both labels (then it is addressed to no cluster). */
function softOwnerKey(s: V1Secret): string | undefined {
  const labels = s.metadata?.labels;
  const name = labels?.[OWNER_NAME_LABEL];
  const namespace = labels?.[OWNER_NAMESPACE_LABEL];
  return name === undefined || namespace === undefined ? undefined : nsKey(namespace, name);
}

/** The cached Elasticsearches and Kibanas as owner candidates, indexed once per revision of both caches. */
const ownerIndexes = new WeakMap<object, { revisions: string; index: OwnerIndex }>();
function cachedOwners(caches: CacheViews): OwnerIndex {
  const es = caches.elasticsearch.revision?.();
  const kb = caches.kibana.revision?.();
  const revisions = `${es},${kb}`;
  const last = ownerIndexes.get(caches);
  if (es !== undefined && kb !== undefined && last?.revisions === revisions) return last.index;
  const index = indexOwners([
    ...caches.elasticsearch.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
    ...caches.kibana.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(KIBANA), kind: "Kibana", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
  ]);
  if (es !== undefined && kb !== undefined) ownerIndexes.set(caches, { revisions, index });
  return index;
}

/** How much of the bundle (decoded tls.crt bytes) the Secrets of one other namespace may take. */
export const FOREIGN_NAMESPACE_BUDGET_BYTES = 64 * 1024;

/** Reads the sources' data and asks the authorizer in the order trust/tenancy.ts gives, which then orders them and keeps each namespace within its budget. */
async function tenancyOrdered(
  selected: V1Secret[],
  pinned: V1Secret[],
  cluster: { namespace: string; name: string },
  d: { caches: CacheViews; references: ReferenceAuthorizer; load: (meta: V1Secret) => Promise<LoadedSecret | undefined> },
): Promise<{ ordered: V1Secret[]; refused: Array<{ secret: V1Secret; reason: string }> }> {
  const split = splitAtNamespace(selected, pinned, cluster.namespace);
  // The data of the cluster's own namespace's Secrets is read first; another namespace's only once authorized.
  const own = (await mapLimited(split.own, READ_CONCURRENCY, d.load)).flatMap((s) => (s ? [s] : []));
  const others: ForeignSource[] = [];
  for (const { secret, pinned: isPinned } of split.others) {
    // Pinned Kibana certificates come from Kibanas already authorized (reconcile/references.ts).
    if (isPinned) {
      others.push({ secret, loaded: secret });
      continue;
    }
    const decision = await d.references.authorize({ namespace: secret.metadata!.namespace!, serviceAccount: ownerServiceAccount(secret, d.caches) }, cluster);
    others.push(decision.allowed ? { secret, loaded: await d.load(secret) } : { secret, notAuthorized: decision.reason });
  }
  return tenancyOrder(own, split.ownPinned, others, cluster, FOREIGN_NAMESPACE_BUDGET_BYTES);
}

/** The ServiceAccount a labelled Secret speaks for: its owning Kibana's or Elasticsearch's, else "default". */
function ownerServiceAccount(secret: V1Secret, caches: CacheViews): string {
  for (const ref of secret.metadata?.ownerReferences ?? []) {
    if (ref.kind === "Kibana") {
      const kb = caches.kibana.get(ref.name, secret.metadata?.namespace);
      if (kb?.metadata.uid === ref.uid && kb.spec?.serviceAccountName) return kb.spec.serviceAccountName;
    }
  }
  return "default";
}

/** Secrets read at once on demand: each whole Secret (up to 1 MiB) is in memory only while it is read. */
const READ_CONCURRENCY = 4;

async function mapLimited<T, R>(items: T[], width: number, f: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await f(items[i]!);
    }
  }));
  return out;
}
