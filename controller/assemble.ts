// Wires the real collaborators around the reconciler: the caches (whose changes route to the
// work queue), the writer, Events, the intent store and the agents' reports, the leader elector
// (the leader alone reconciles and serves the intent API), what every replica serves over TLS,
// and the health endpoints. main.ts keeps the process: flags, signals, timers.
import * as k8s from "@kubernetes/client-node";
import type { ControllerConfig } from "./config.ts";
import { crdCheck } from "./crd-check.ts";
import { IntentStore } from "./intent-api/intent-store.ts";
import { clusterHealthReader, statefulSetReader } from "./kube/es-health.ts";
import { planHealthRead, workloadNames } from "./gate/health-targets.ts";
import { EventRecorder } from "./kube/events.ts";
import { Caches, type Kind } from "./kube/informers.ts";
import { LeaderElector } from "./kube/leader-election.ts";
import { markLeaderPod } from "./kube/leader-label.ts";
import { clusterOfPod } from "./kube/pod-cluster.ts";
import { referenceAuthorizer, subjectAccessCheck } from "./kube/reference-authorizer.ts";
import { replicaReader } from "./kube/replica-reader.ts";
import { key } from "./resources.ts";
import { secretReader } from "./kube/secret-reader.ts";
import { Writer } from "./kube/writer.ts";
import { log } from "./log.ts";
import { ClusterReconciler } from "./reconcile/cluster.ts";
import { WorkQueue } from "./reconcile/queue.ts";
import { ReportStore } from "./reconcile/reports.ts";
import { allClusters, clustersOf, intentClustersOf } from "./routing.ts";
import { serveHealth } from "./serving/health.ts";
import { servingLifecycle } from "./serving/lifecycle.ts";
import { kubeOwnerLookup } from "./kube/owner-lookup.ts";

/** The kind the writer records for what each cache holds (kube/writer.ts's overlay keys). */
const WRITTEN_KIND: Partial<Record<Kind, string>> = { elasticsearch: "Elasticsearch", clientauth: "ClientAuthentication", managedSecret: "Secret", namespace: "Namespace" };

interface RunningController {
  readonly leading: boolean;
  /** Reads (standby) or makes (leader) the serving material and serves it; one refresh at a time. */
  refreshServing(isLeader: boolean): Promise<void>;
  /** Leader only (a no-op otherwise): every cluster re-reconciled, orphan CAs swept, the CRD re-read. */
  resync(): void;
  stop(): Promise<void>;
}

interface ProcessHooks {
  /** Another replica took the Lease: this process must stop writing at once. */
  onLeadershipLost: () => void;
}

export async function startController(config: ControllerConfig, hooks: ProcessHooks): Promise<RunningController> {
  const kc = new k8s.KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromCluster();
  const core = kc.makeApiClient(k8s.CoreV1Api);

  const intents = new IntentStore();
  const writer = new Writer(kc);
  const events = new EventRecorder(kc, config.podName);
  let reconciler: ClusterReconciler;
  const queue = new WorkQueue((key) => reconciler.reconcile(key));

  const caches: Caches = new Caches(kc, config.operatorNamespace, config.namespace, (kind, obj, type) => {
    if (kind === "pod" && type === "delete") {
      reports.forget(obj.metadata!.uid!);
      intents.remove(obj.metadata!.namespace!, obj.metadata!.name!);
    }
    // The echo of the controller's own write still re-checks its clusters, but in the resync lane:
    // at 1,000 clusters an initial sync's ~7,000 echoes queued in the change lane held a user's
    // change for seconds (issue 21; bench/controller-scale.ts). An event that beats its write's
    // response is routed once the writes in flight to that object answered.
    const keys = clustersOf(caches, kind, obj);
    const route = (echo: boolean) => {
      for (const key of keys) echo ? queue.addResync(key) : queue.add(key);
    };
    if (type === "delete") route(false);
    else writer.classify(WRITTEN_KIND[kind] ?? "", obj.metadata?.namespace, obj.metadata?.name ?? "", obj.metadata?.resourceVersion, route);
    // And the cluster a pod's intent names, which it may have just left (issue 18).
    for (const key of intentClustersOf(caches, (ns, name) => intents.clusterOf(ns, name), kind, obj)) queue.add(key);
  });

  const reports = new ReportStore((pod) => {
    const p = caches.pods.get(pod.name, pod.namespace);
    const c = p && clusterOfPod(p, caches.kibana);
    if (c) queue.add(key(c.namespace, c.name));
  });

  const references = referenceAuthorizer({ enforce: config.enforceRbacOnRefs, check: subjectAccessCheck(kc) });
  const crd = crdCheck(kc.makeApiClient(k8s.ApiextensionsV1Api));
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
    // Before each Elasticsearch eviction: the cluster must be green (asked of its own StatefulSets' pods, by IP, port 9200).
    clusterHealth: config.esHealthGate ? clusterHealthReader(secretReader(core), statefulSetReader(kc.makeApiClient(k8s.AppsV1Api)), { workloadNames, plan: planHealthRead }) : undefined,
    references,
    pki: {
      caValidityMs: config.caCertValidityMs,
      caRotateBeforeMs: config.caCertRotateBeforeMs,
      certValidityMs: config.certValidityMs,
      agentCertValidityMs: config.agentCertValidityMs,
      certRotateBeforeMs: config.certRotateBeforeMs,
      caNamespace: config.namespace,
    },
    elasticsearchCrd: () => crd.current,
    resyncMs: config.resyncMs,
  });

  // The signer for agents' CSRs is the reconciler's current CA of the pod's cluster.
  const serving = servingLifecycle({ kc, core, writer, config, caches, references, intents, reports, signer: reconciler });

  /** CA Secrets of clusters deleted while no leader watched; only from synced caches (a partial list would look like deletions). */
  function sweepOrphanCas() {
    if (caches.synced) void reconciler.sweepOrphanCas().catch((e) => log.warn("client CA sweep failed", { error: String(e) }));
  }

  const elector = new LeaderElector(kc, {
    namespace: config.namespace,
    name: config.leaseName,
    identity: config.podName,
    leaseDurationMs: config.leaseDurationMs,
    retryMs: config.leaseRetryMs,
    onStartedLeading: () => {
      void markLeaderPod(core, config.namespace, config.podName, true);
      void serving.refresh(true).catch((e) => log.error("serving certificate", { error: String(e) }));
      queue.start();
      for (const key of allClusters(caches)) queue.addResync(key);
      sweepOrphanCas();
    },
    onStoppedLeading: hooks.onLeadershipLost,
  });
  // Only the leader writes: a replica past its renew deadline sends nothing more.
  writer.fence = events.fence = () => elector.leading;

  const health = serveHealth({
    port: config.healthPort,
    hostname: config.intentApiAddress,
    state: () => ({
      cachesSynced: caches.synced,
      intentApi: !!serving.intentApi,
      webhooks: !config.webhookPort || !!serving.webhooks,
      leader: elector.leading,
      elasticsearchCrd: crd.current,
    }),
  });

  // A restarted container may still carry the leader label of its previous life.
  await markLeaderPod(core, config.namespace, config.podName, false);
  await caches.start();
  log.info("caches started", { synced: caches.synced });
  await crd.check();
  elector.start();

  return {
    get leading() {
      return elector.leading;
    },
    refreshServing: (isLeader) => serving.refresh(isLeader),
    resync() {
      if (!elector.leading) return;
      for (const key of allClusters(caches)) queue.addResync(key);
      sweepOrphanCas();
      void crd.check();
    },
    async stop() {
      queue.stop();
      await elector.release();
      await serving.stop();
      health.stop();
      await caches.stop();
    },
  };
}
