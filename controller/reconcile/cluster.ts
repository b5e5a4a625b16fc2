// Reconciles one Elasticsearch cluster, as a pipeline of named steps, each in its own file here:
// read the cluster, decide its phase (gate/), PKI, Kibana identities, trust bundle, generation,
// injection check, CA-rotation signer, proof gate, restarts, intents, status (status/). Every write
// is skipped when the stored object already says the same.
//
// Failure idiom of the controller: pure decisions (policy/, gate/, status/build.ts, pki/ checks)
// return data: a value, or `{ ok: true, … } | { ok: false, reason }`; I/O (kube/, the steps here)
// throws, and the kube layer's expected refusals are tested with kube/api-error.ts. A reconcile that
// throws is retried by the work queue with backoff.
import type { Condition } from "../resources.ts";
import type { CertificateAuthority } from "../pki/ca.ts";
import { isActive } from "../policy/phases.ts";
import { managerOf } from "../policy/manager.ts";
import { kubeTime } from "../status/conditions.ts";
import { metrics } from "../metrics.ts";
import { sweepOrphanCas } from "./ca-secret.ts";
import { agentCertValiditySeconds, pkiRequeueMs } from "./cluster-pki.ts";
import { pinsStillPresented, resolveKibanaIdentities } from "./kibana-identities.ts";
import { bundleRequeueMs, publishTrustBundle } from "./trust-bundle.ts";
import { joinedOnRead } from "../trust/joined-bundle.ts";
import { intentsHash, nextGeneration, reserveGeneration, reservedGeneration } from "./generation.ts";
import { publishIntents } from "./publish.ts";
import { esTarget } from "./event-targets.ts";
import { authorizeKibanas } from "./references.ts";
import { reportUnmarked } from "./standalone-marker.ts";
import { reportIneffectiveSettings } from "./ineffective-settings.ts";
import { standAsideForEck } from "./eck.ts";
import { foreignSecret, holdOff } from "./ownership.ts";
import { loadCluster } from "./view.ts";
import { syncNamespaceLabels } from "./namespace-label.ts";
import { ClusterMemory } from "./memory.ts";
import { cleanUpGone } from "./gone.ts";
import { seedReports } from "./seed-reports.ts";
import { decideClusterPhase } from "./phase.ts";
import { standDown } from "./stand-down.ts";
import { ensureClusterCas } from "./client-cas.ts";
import { markRequired } from "./required-annotation.ts";
import { checkInjected } from "./injected-check.ts";
import { ensureSigner } from "./signer.ts";
import { proofGate } from "./proof-gate.ts";
import { finishDisabling } from "./finish-disabling.ts";
import { withStranded } from "./stranded.ts";
import { writeActiveStatus } from "./active-status.ts";
import type { ReconcilerDeps } from "./deps.ts";

export class ClusterReconciler {
  /** Per cluster, between reconciles: the signing CA, a rotated CA's first signature, the restarts under way. */
  private readonly memory = new ClusterMemory();

  constructor(private readonly d: ReconcilerDeps) {}

  caFor(namespace: string, esName: string): CertificateAuthority | undefined {
    return this.memory.signers.get(`${namespace}/${esName}`);
  }

  /** Deletes CA Secrets whose cluster no longer exists (call with synced caches: at the start of a leadership, on resync). */
  sweepOrphanCas(): Promise<number> {
    return sweepOrphanCas(this.d);
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const { d, memory } = this;
    const loaded = await loadCluster(key, d);
    if (!loaded) {
      await syncNamespaceLabels(key, undefined, d); // its namespace may lose the active label
      return await cleanUpGone(key, memory, d);
    }
    metrics.inc("es_mtls_controller_reconciles_total", { cluster: key });
    const crd = d.elasticsearchCrd();
    const manager = managerOf(loaded.es, crd && { keepsClient: crd.supported, standalone: crd.standalone }, isActive(loaded.prevPhase));
    if ((manager.by === "eck" && manager.implementsFeature) || manager.by === "eck-pending") {
      memory.forget(key);
      await syncNamespaceLabels(key, "ManagedByECK", d); // never active for es-mtls: no pod of it goes to the webhook
      return standAsideForEck(loaded, d, manager.by === "eck-pending" ? manager.reason : undefined);
    }
    const refs = await authorizeKibanas(loaded, d);
    const c = refs.view;
    seedReports(c, d.reports);
    const conditions: Condition[] = [refs.condition, ...(await reportUnmarked(loaded, crd?.standalone === true, d))];

    const phase = await decideClusterPhase(c, conditions, manager, d);
    await syncNamespaceLabels(key, phase, d); // before any pod of an Enabling cluster is re-created
    if (!isActive(phase)) return standDown(c, phase, conditions, memory, d);
    const foreign = await foreignSecret(c, d);
    if (foreign) return holdOff(c, conditions, foreign, d);
    const cas = await ensureClusterCas(c, d);
    const certValiditySeconds = agentCertValiditySeconds(d.pki);
    const kibanas = await resolveKibanaIdentities(c.kibanas, { ...d, certValiditySeconds, clusterNamespace: c.namespace });
    conditions.push(kibanas.condition);
    const presented = await pinsStillPresented(c, kibanas.identities, d);
    const trust = await publishTrustBundle(c.es, cas, [...kibanas.identities, ...presented], d);
    conditions.push(trust.condition);
    await markRequired(c, d);
    const activeSince = isActive(c.prevPhase) && c.prevStatus.activeSince ? c.prevStatus.activeSince : kubeTime(new Date());
    conditions.push(await checkInjected(c, activeSince, d));
    await reportIneffectiveSettings(c, phase, d);
    const signing = await ensureSigner(c, cas, trust.bundle.sha256, conditions, memory, d);
    const outstanding = memory.restarts.outstanding(key, c.pods, c.prevStatus.pendingRestart);
    const gate = await proofGate(c, phase, trust.bundle.sha256, conditions, outstanding, d);
    const hash = intentsHash(gate.next, trust.bundle.sha256, kibanas.identities);
    const generation = nextGeneration(c.prevStatus, hash, { published: memory.published.get(key), reserved: reservedGeneration(c) });
    if (gate.next === "Disabled") return finishDisabling(c, conditions, generation, hash, memory, d);
    if (gate.next !== phase) await d.events.record(esTarget(c.es), "Normal", `ClientAuthentication${gate.next}`, `every Elasticsearch pod proved it requires client certificates`);
    const planned = memory.restarts.plan(key, gate.next, phase, c.pods, { reports: withStranded(c, kibanas.identities, d.reports), proven: gate.proven, bundleEverywhere: signing.waiting.length === 0 });
    const restart = await memory.restarts.holdUnlessGreen(key, c.es, planned, c.pods, d);
    conditions.push(...restart.conditions);

    // Persist the generation before any agent sees it, so it is never reused after a restart: reserved
    // on the bundle Secret, so the agents need not wait for the status (one entry per pod) to be written.
    await reserveGeneration(c, generation, d);
    const cluster = { namespace: c.namespace, name: c.name };
    publishIntents(d.intents, c.pods, { generation, cluster, phase: gate.next, bundle: joinedOnRead(trust.bundle), certValiditySeconds }, kibanas.identities);
    memory.published.set(key, { generation, hash });
    const expiries = [cas.current.certificate.notAfter, signing.internalNotAfter, ...trust.bundle.included.map((x) => new Date(x.notAfter))];
    await writeActiveStatus(c, { phase: gate.next, generation, hash, bundleSha256: trust.bundle.sha256, provenCount: gate.provenCount, expiries, conditions, activeSince, pending: restart.pending }, d);
    // Evict only now: the persisted phase is what the webhook injects the replacement pod with.
    await memory.restarts.carryOut(key, c.es, restart.step, c.pods, d);
    return { requeueAfterMs: Math.min(pkiRequeueMs(cas, signing.internalNotAfter, d.pki), bundleRequeueMs(trust.bundle), d.resyncMs, restart.requeueMs ?? Infinity, signing.reloadedInMs ?? Infinity) };
  }
}
