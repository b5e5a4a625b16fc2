// es-mtls controller entry point: caches → (leader only) reconcile queue → intent
// API for agents, plus /healthz /readyz /metrics. Run: `bun controller/main.ts --flags`.
import * as k8s from "@kubernetes/client-node";
import { Hono } from "hono";
import { loadConfig } from "./config.ts";
import { log, setLogLevel } from "./log.ts";
import { metrics } from "./metrics.ts";
import { Caches, type Kind } from "./kube/informers.ts";
import { Writer } from "./kube/writer.ts";
import { EventRecorder } from "./kube/events.ts";
import { kubeOwnerLookup } from "./kube/owner-lookup.ts";
import { LeaderElector } from "./kube/leader-election.ts";
import { kubeJwks, serviceAccountIssuer } from "./kube/jwks.ts";
import { CA_CLUSTER_NAMESPACE_LABEL, CA_CLUSTER_NAME_LABEL, ES_CLUSTER_LABEL, key, type Kibana } from "./kube/resources.ts";
import { secretReader } from "./kube/secret-reader.ts";
import { replicaReader } from "./kube/replica-reader.ts";
import { referenceAuthorizer, subjectAccessCheck } from "./kube/reference-authorizer.ts";
import { clusterOfPod } from "./kube/pod-cluster.ts";
import { OWNER_NAME_LABEL, OWNER_NAMESPACE_LABEL } from "./trust/labels.ts";
import { WorkQueue } from "./reconcile/queue.ts";
import { ReportStore } from "./reconcile/reports.ts";
import { ClusterReconciler } from "./reconcile/cluster.ts";
import { clusterHealthReader } from "./kube/es-health.ts";
import { readCrdSupport, type CrdSupport } from "./kube/crd-support.ts";
import { IntentStore } from "./intent-api/intent-store.ts";
import { createTokenVerifier } from "./intent-api/token-verifier.ts";
import { createCertificateIssuer } from "./intent-api/certificate-issuer.ts";
import { createIntentApp } from "./intent-api/app.ts";
import { serveIntentApi, type IntentServer } from "./intent-api/server.ts";
import { ensureServingMaterial, readServingMaterial, type ServingMaterial } from "./serving-material.ts";
import { createWebhookApp } from "./admission/app.ts";
import { syncCaBundles, webhookServiceName } from "./admission/configurations.ts";
import { clusterModeOf } from "./admission/cluster-mode.ts";
import { licenseFromConfigMap } from "./policy/license.ts";
import { markLeaderPod } from "./kube/leader-label.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.argv.slice(2));
} catch (e) {
  log.error("invalid configuration", { detail: e instanceof Error ? e.message : String(e) });
  process.exit(2);
}
setLogLevel(config.logLevel);

const kc = new k8s.KubeConfig();
if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
else kc.loadFromCluster();
const core = kc.makeApiClient(k8s.CoreV1Api);

const intents = new IntentStore();
const writer = new Writer(kc);
const events = new EventRecorder(kc, config.podName);
let reconciler: ClusterReconciler;
const queue = new WorkQueue((key) => reconciler.reconcile(key));

/** Which clusters a changed object can affect. */
function clustersOf(kind: Kind, obj: k8s.KubernetesObject): string[] {
  const ns = obj.metadata?.namespace ?? "";
  const labels = obj.metadata?.labels ?? {};
  switch (kind) {
    case "elasticsearch":
    case "clientauth":
      return [`${ns}/${obj.metadata!.name}`];
    case "kibana": {
      const ref = (obj as Kibana).spec?.elasticsearchRef;
      return ref?.name ? [`${ref.namespace || ns}/${ref.name}`] : [];
    }
    case "clientCertSecret":
      return labels[OWNER_NAME_LABEL] ? [`${labels[OWNER_NAMESPACE_LABEL] || ns}/${labels[OWNER_NAME_LABEL]}`] : [];
    case "managedSecret":
      // A client CA lives in the controller's namespace and names its cluster by labels.
      if (labels[CA_CLUSTER_NAME_LABEL]) return [`${labels[CA_CLUSTER_NAMESPACE_LABEL]}/${labels[CA_CLUSTER_NAME_LABEL]}`];
      return labels[ES_CLUSTER_LABEL] ? [`${ns}/${labels[ES_CLUSTER_LABEL]}`] : [];
    case "pod": {
      const c = clusterOfPod(obj as k8s.V1Pod, caches.kibana);
      return c ? [key(c.namespace, c.name)] : [];
    }
    case "license":
      return allClusters();
    case "namespace": {
      // The active label changed (by us, or a user removed it): re-judge what lives there.
      const ns = obj.metadata!.name!;
      return [...allClusters().filter((k) => k.startsWith(`${ns}/`)), ...caches.kibana.list(ns).flatMap((kb) => clustersOf("kibana", kb))];
    }
  }
}

function allClusters(): string[] {
  return caches.elasticsearch.list().map((es) => `${es.metadata.namespace}/${es.metadata.name}`);
}

const caches = new Caches(kc, config.operatorNamespace, config.namespace, (kind, obj, type) => {
  if (kind === "pod" && type === "delete") {
    reports.forget(obj.metadata!.uid!);
    intents.remove(obj.metadata!.namespace!, obj.metadata!.name!);
  }
  for (const key of clustersOf(kind, obj)) queue.add(key);
});

const reports = new ReportStore((pod) => {
  const p = caches.pods.get(pod.name, pod.namespace);
  const c = p && clusterOfPod(p, caches.kibana);
  if (c) queue.add(key(c.namespace, c.name));
});

const references = referenceAuthorizer({ enforce: config.enforceRbacOnRefs, check: subjectAccessCheck(kc) });
reconciler = new ClusterReconciler({
  caches,
  writer,
  events,
  intents,
  reports,
  readUserSecret: secretReader(core),
  readSecret: secretReader(core),
  ownerLookup: kubeOwnerLookup(kc),
  readReplicas: replicaReader(kc.makeApiClient(k8s.AppsV1Api)),
  // Before each Elasticsearch eviction: the cluster must be green (reached on its pods' IPs, port 9200).
  clusterHealth: config.esHealthGate ? clusterHealthReader(secretReader(core)) : undefined,
  references,
  pki: {
    caValidityMs: config.caCertValidityMs,
    caRotateBeforeMs: config.caCertRotateBeforeMs,
    certValidityMs: config.certValidityMs,
    agentCertValidityMs: config.agentCertValidityMs,
    certRotateBeforeMs: config.certRotateBeforeMs,
    caNamespace: config.namespace,
  },
  resyncMs: config.resyncMs,
});

let intentServer: IntentServer | undefined;
let webhookServer: IntentServer | undefined;
let serving: ServingMaterial | undefined;

// Every replica serves the webhooks (the webhook Service selects them all) and answers from its own
// caches, which every replica runs: a standby decides a pod exactly as the leader would, so a leader
// change never blocks a pod creation. Only the intent API is the leader's alone.
function startWebhooks(material: ServingMaterial) {
  if (!config.webhookPort) return;
  const app = createWebhookApp({
    injection: () => ({
      controllerNamespace: config.namespace,
      agentImage: config.agentImage,
      controllerUrl: config.intentApiUrl,
      controllerCaPem: serving?.caPem ?? material.caPem,
      sidecarMode: config.sidecarMode,
      logLevel: config.logLevel,
    }),
    clusterMode: (pod) => {
      if (!caches.synced) throw new Error("caches not synced yet");
      return clusterModeOf(pod, {
        elasticsearch: caches.elasticsearch,
        kibana: caches.kibana,
        clientAuthentication: (namespace, name) => writer.fresh("ClientAuthentication", namespace, name, caches.clientAuth.get(name, namespace)),
        references,
      });
    },
    license: () => licenseFromConfigMap(caches.license.list()[0]),
    failurePolicy: config.webhookFailurePolicy,
    onInjection: (pod, result) => log.info("pod admission", { pod: `${pod.namespace}/${pod.name}`, injected: result.patch.length > 0, skipped: result.skipped }),
    onError: (what, error) => log.warn("webhook error", { what, error: String(error) }),
  });
  webhookServer = serveIntentApi({ fetch: app.fetch, tls: { cert: material.cert, key: material.key }, port: config.webhookPort, hostname: config.intentApiAddress });
  log.info("webhooks listening", { port: webhookServer.port });
}

async function startIntentApi(material: ServingMaterial) {
  const issuer = await serviceAccountIssuer(kc);
  const verifier = createTokenVerifier({
    jwks: kubeJwks(kc),
    issuer,
    audience: config.tokenAudience,
    pods: (namespace, name) => {
      const pod = caches.pods.get(name, namespace);
      return pod?.metadata?.uid && !pod.metadata.deletionTimestamp ? { uid: pod.metadata.uid } : undefined;
    },
  });
  const app = createIntentApp({
    verifier,
    intents,
    issueCertificate: createCertificateIssuer({
      caFor: (pod) => {
        const p = caches.pods.get(pod.name, pod.namespace);
        const cluster = p && clusterOfPod(p, caches.kibana);
        return cluster ? reconciler.caFor(cluster.namespace, cluster.name) : undefined;
      },
    }),
    onStatus: (pod, report) => reports.put(pod, report),
    maxStreamsPerPod: config.maxStreamsPerPod,
  });
  intentServer = serveIntentApi({ fetch: app.fetch, tls: { cert: material.cert, key: material.key }, port: config.intentApiPort, hostname: config.intentApiAddress, idleTimeoutSeconds: 60 });
  log.info("intent API listening", { port: intentServer.port, issuer });
}

/**
 * One refresh at a time: the leadership callback and the 5 s timer may both ask at once, and two
 * concurrent first starts would both try to bind the intent API's port.
 */
let servingChain: Promise<void> = Promise.resolve();
function refreshServing(isLeader: boolean): Promise<void> {
  const run = servingChain.then(() => refreshServingOnce(isLeader));
  servingChain = run.catch(() => {});
  return run;
}

/** Serving material: the leader makes it; everyone serves it once it exists, and picks up rotations. */
async function refreshServingOnce(isLeader: boolean) {
  const material = isLeader
    ? await ensureServingMaterial(core, writer, { namespace: config.namespace, serviceName: config.serviceName, extraServiceNames: [webhookServiceName(config.serviceName)], validityMs: config.certValidityMs, rotateBeforeMs: config.certRotateBeforeMs })
    : (await readServingMaterial(core, config.namespace))?.material;
  if (!material) return;
  // Webhooks first: they must not wait on the intent API's start (the JWKS issuer lookup).
  if (!webhookServer) startWebhooks(material);
  if (!intentServer) {
    await startIntentApi(material);
  } else if (serving && serving.cert !== material.cert) {
    for (const s of [intentServer, webhookServer]) s?.updateTls({ cert: material.cert, key: material.key });
  }
  serving = material;
  // The kube-apiserver must trust what the webhooks serve (writes nothing when in sync).
  if (isLeader && config.webhookPort) await syncCaBundles(kc, material.caPem);
}

const elector = new LeaderElector(kc, {
  namespace: config.namespace,
  name: config.leaseName,
  identity: config.podName,
  leaseDurationMs: config.leaseDurationMs,
  retryMs: config.leaseRetryMs,
  onStartedLeading: () => {
    void markLeaderPod(core, config.namespace, config.podName, true);
    void refreshServing(true).catch((e) => log.error("serving certificate", { error: String(e) }));
    queue.start();
    for (const key of allClusters()) queue.addResync(key);
    sweepOrphanCas();
  },
  onStoppedLeading: () => {
    // Another replica leads now; stop writing at once and restart as a candidate.
    log.error("leadership lost; exiting so a fresh process competes again");
    process.exit(1);
  },
});

/** What the installed Elasticsearch CRD allows (kube/crd-support.ts); undefined until first read. */
let crd: CrdSupport | undefined;
const apiextensions = kc.makeApiClient(k8s.ApiextensionsV1Api);
async function checkCrd() {
  const now = await readCrdSupport(apiextensions);
  metrics.set("es_mtls_controller_elasticsearch_crd_client_authentication", {}, now.supported ? 1 : 0);
  // Said once per change, not on every resync.
  if (now.detail !== crd?.detail) (now.supported ? log.info : log.warn)("elasticsearch CRD", { supported: now.supported, detail: now.detail });
  crd = now;
}

const health = new Hono();
health.get("/healthz", (c) => c.json({ status: "ok" }));
health.get("/readyz", (c) => {
  // Ready = able to answer the webhooks from synced caches (the webhook Service picks ready replicas).
  const webhooks = !config.webhookPort || !!webhookServer;
  const ready = caches.synced && !!intentServer && webhooks;
  return c.json({ ready, cachesSynced: caches.synced, intentApi: !!intentServer, webhooks, leader: elector.leading, elasticsearchCrd: crd }, ready ? 200 : 503);
});
health.get("/metrics", (c) => c.text(metrics.text(), 200, { "content-type": "text/plain; version=0.0.4" }));
const healthServer = Bun.serve({ port: config.healthPort, hostname: config.intentApiAddress, fetch: health.fetch });
log.info("health endpoints listening", { port: healthServer.port });

// A restarted container may still carry the leader label of its previous life.
await markLeaderPod(core, config.namespace, config.podName, false);
await caches.start();
log.info("caches started", { synced: caches.synced });
await checkCrd().catch((e) => log.warn("reading the Elasticsearch CRD failed", { error: String(e) }));
elector.start();

// Standbys poll for the serving material; everyone re-checks it periodically for rotation.
const servingTimer = setInterval(() => void refreshServing(elector.leading).catch((e) => log.warn("serving certificate refresh failed", { error: String(e) })), 5000);
void refreshServing(false).catch(() => {});
const resyncTimer = setInterval(() => {
  if (!elector.leading) return;
  for (const key of allClusters()) queue.addResync(key);
  sweepOrphanCas();
  void checkCrd().catch((e) => log.warn("reading the Elasticsearch CRD failed", { error: String(e) }));
}, config.resyncMs);

/** CA Secrets of clusters deleted while no leader watched; only from synced caches (a partial list would look like deletions). */
function sweepOrphanCas() {
  if (caches.synced) void reconciler.sweepOrphanCas().catch((e) => log.warn("client CA sweep failed", { error: String(e) }));
}

async function shutdown(signal: string) {
  log.info("shutting down", { signal });
  clearInterval(servingTimer);
  clearInterval(resyncTimer);
  queue.stop();
  await elector.release();
  await intentServer?.stop();
  await webhookServer?.stop();
  healthServer.stop(true);
  await caches.stop();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));

