// Step: the cluster's trust bundle (source → bundle → target): select the labelled client-certificate
// Secrets the cluster trusts, build the bundle from its CAs, those Secrets and the Kibanas' pinned
// certificates, report every rejected input on the Secret and the Elasticsearch, and write the
// bundle Secret when it differs.
import type { V1Secret } from "@kubernetes/client-node";
import { ELASTICSEARCH, KIBANA, apiVersionOf, type Condition, type Elasticsearch } from "../kube/resources.ts";
import type { CacheViews } from "../kube/informers.ts";
import { buildTrustBundle, EmptyTrustBundleError, type TrustBundleResult } from "../trust/bundle.ts";
import { selectClientCertificateSecrets, type OwnerCandidate } from "../trust/sources.ts";
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
  d: { caches: CacheViews; writer: ClusterWriter; events: EventSink },
): Promise<{ bundle: TrustBundleResult; condition: Condition }> {
  const { namespace, name } = es.metadata;
  const bundle = await buildBundle(es, cas, identities, d);
  const condition = bundle.rejected.length
    ? cond("TrustBundleValid", "False", "InputsRejected", `${bundle.rejected.length} input(s) left out of the trust bundle; see Events`)
    : cond("TrustBundleValid", "True", "AllInputsValid", `${bundle.included.length} certificate(s) trusted`);
  metrics.set("es_mtls_controller_trust_bundle_certificates", { cluster: `${namespace}/${name}` }, bundle.included.length);
  const desired = desiredTrustBundleSecret({ namespace, name, uid: es.metadata.uid, apiVersion: es.apiVersion }, bundle);
  const existing = d.writer.fresh("Secret", namespace, trustBundleSecretName(name), d.caches.managedSecrets.get(trustBundleSecretName(name), namespace));
  if (!isUpToDate(existing, desired)) await d.writer.apply(desired);
  return { bundle, condition };
}

async function buildBundle(es: Elasticsearch, cas: ClientCas, identities: KibanaIdentity[], d: { caches: CacheViews; events: EventSink }): Promise<TrustBundleResult> {
  const cluster = { namespace: es.metadata.namespace, name: es.metadata.name };
  const owners: OwnerCandidate[] = [
    ...d.caches.elasticsearch.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
    ...d.caches.kibana.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(KIBANA), kind: "Kibana", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
  ];
  const selection = selectClientCertificateSecrets([...d.caches.clientCertSecrets.list()], owners, cluster);
  for (const r of selection.rejected) {
    await d.events.record(secretTarget(r.secret), "Warning", "UntrustedClientCertificate", `not trusted by Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.reason}`);
    await d.events.record(esTarget(es), "Warning", "UntrustedClientCertificate", `Secret ${r.where}: ${r.reason}`);
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
    const message = `left out of the trust bundle of Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.source}${r.block ? ` block ${r.block}` : ""}: ${r.reason}`;
    const secret = [...secretsByWhere.entries()].find(([where]) => r.source === where || r.source.startsWith(`${where} `))?.[1];
    if (secret) await d.events.record(secretTarget(secret), "Warning", "ClientCertificateRejected", message);
    await d.events.record(esTarget(es), "Warning", "ClientCertificateRejected", message);
  }
  return bundle;
}

