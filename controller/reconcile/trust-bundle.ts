// Step: the cluster's trust bundle (source → bundle → target): select the labelled client-certificate
// Secrets the cluster trusts, build the bundle from its CAs, those Secrets and the Kibanas' pinned
// certificates, report every rejected input on the Secret and the Elasticsearch, and write the
// bundle Secret when it differs.
import type { V1Secret } from "@kubernetes/client-node";
import { ELASTICSEARCH, KIBANA, apiVersionOf, type Condition, type Elasticsearch } from "../kube/resources.ts";
import type { CacheViews } from "../kube/informers.ts";
import { buildTrustBundle, EmptyTrustBundleError, type TrustBundleResult } from "../trust/bundle.ts";
import { verifyClientCertificateSecrets, type OwnerCandidate } from "../trust/sources.ts";
import type { OwnerLookup } from "../trust/owner-lookup.ts";
import { EventBatch } from "../kube/events.ts";
import { TRUST_BUNDLE_LIMITS, formatSize } from "../trust/limits.ts";
import { desiredTrustBundleSecret, isUpToDate, trustBundleSecretName } from "../trust/target.ts";
import { cond } from "../status/conditions.ts";
import { metrics } from "../metrics.ts";
import type { ClientCas } from "./cluster-pki.ts";
import type { KibanaIdentity } from "./kibana.ts";
import { esTarget, secretTarget } from "./event-targets.ts";
import type { ClusterWriter, EventSink } from "./deps.ts";

export async function publishTrustBundle(
  es: Elasticsearch,
  cas: ClientCas,
  identities: KibanaIdentity[],
  d: { caches: CacheViews; writer: ClusterWriter; events: EventSink; ownerLookup: OwnerLookup },
): Promise<{ bundle: TrustBundleResult; condition: Condition }> {
  const { namespace, name } = es.metadata;
  const bundle = await buildBundle(es, cas, identities, d);
  const condition = bundle.rejected.length
    ? cond("TrustBundleValid", "False", "InputsRejected", `${bundle.rejected.length} input(s) left out of the trust bundle (${countByCode(bundle)}); see Events`)
    : cond("TrustBundleValid", "True", "AllInputsValid", `${bundle.included.length} certificate(s) trusted`);
  metrics.set("es_mtls_controller_trust_bundle_certificates", { cluster: `${namespace}/${name}` }, bundle.included.length);
  const desired = desiredTrustBundleSecret({ namespace, name, uid: es.metadata.uid, apiVersion: es.apiVersion }, bundle);
  const existing = d.writer.fresh("Secret", namespace, trustBundleSecretName(name), d.caches.managedSecrets.get(trustBundleSecretName(name), namespace));
  if (!isUpToDate(existing, desired)) await d.writer.apply(desired);
  return { bundle, condition };
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
  d: { caches: CacheViews; events: EventSink; ownerLookup: OwnerLookup },
): Promise<TrustBundleResult> {
  const cluster = { namespace: es.metadata.namespace, name: es.metadata.name };
  const owners: OwnerCandidate[] = [
    ...d.caches.elasticsearch.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
    ...d.caches.kibana.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(KIBANA), kind: "Kibana", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
  ];
  const selection = await verifyClientCertificateSecrets([...d.caches.clientCertSecrets.list()], owners, cluster, d.ownerLookup);
  const onCluster = new EventBatch(d.events);
  for (const r of selection.rejected) {
    await d.events.record(secretTarget(r.secret), "Warning", "UntrustedClientCertificate", `not trusted by Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.reason}`);
    onCluster.add(esTarget(es), "Warning", "UntrustedClientCertificate", "labelled Secret(s) not trusted, see each Secret's Events", r.where);
  }
  const pinnedUserSecrets = identities.flatMap((k) => (k.ok && k.pinned ? [k.pinned] : []));
  const caCertificates = [
    { label: "client CA (current)", pem: cas.current.certificate.toString("pem") },
    ...(cas.previous ? [{ label: "client CA (previous)", pem: cas.previous.certificate.toString("pem") }] : []),
  ];
  let bundle: TrustBundleResult;
  try {
    bundle = await buildTrustBundle({ caCertificates, secrets: [...selection.selected, ...pinnedUserSecrets] });
  } catch (e) {
    // Cannot happen while the CA is valid; never publish an empty bundle.
    if (e instanceof EmptyTrustBundleError) throw new Error(`trust bundle of ${cluster.namespace}/${cluster.name} would be empty`);
    throw e;
  }
  const secretsByWhere = new Map<string, V1Secret>([...selection.selected, ...pinnedUserSecrets].map((s) => [`Secret ${s.metadata!.namespace}/${s.metadata!.name}`, s]));
  for (const r of bundle.rejected) {
    const what = `${r.source}${r.block ? ` block ${r.block}` : ""}`;
    const secret = [...secretsByWhere.entries()].find(([where]) => r.source === where || r.source.startsWith(`${where} `))?.[1];
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

