// Reconciles one Elasticsearch cluster, as a pipeline of named steps: read the cluster, decide its
// phase (gate/), PKI, Kibana identities, trust bundle, generation, injection check, CA-rotation
// signer, proof gate, restarts, status (status/), intents. Every write is skipped when the stored
// object already says the same.
//
// Failure idiom of the controller: pure decisions (policy/, gate/, status/build.ts, pki/ checks)
// return data: a value, or `{ ok: true, … } | { ok: false, reason }`; I/O (kube/, the steps here)
// throws, and the kube layer's expected refusals are tested with kube/api-error.ts. A reconcile that
// throws is retried by the work queue with backoff.
import type { Enforcement, Phase, StatusReport } from "../../protocol/intent.ts";
import { CLIENT_AUTH_REQUIRED_ANNOTATION, KIBANA_NAME_LABEL, legacyClientCaSecretName, type ClientAuthenticationStatus, type Condition } from "../kube/resources.ts";
import { internalClientCertSecretName } from "../pki/leaf.ts";
import type { CertificateAuthority } from "../pki/ca.ts";
import { trustBundleSecretName } from "../trust/target.ts";
import { licenseFromConfigMap, licenseState } from "../policy/license.ts";
import { enablementCheck, type EnablementProblem } from "../policy/validation.ts";
import { describeHttpsProblems, httpsCallsThatWouldFail } from "../policy/https-probes.ts";
import { isActive } from "../policy/phases.ts";
import { hasInjectionRecord, podEnforcement } from "../policy/injection-record.ts";
import { findUninjected } from "../policy/uninjected.ts";
import { isOwnSecret } from "../policy/ownership.ts";
import { decidePhase, gatePhase, readyCondition } from "../gate/transition.ts";
import { bundleReloadedInMs, proves, waitingForBundle } from "../gate/proofs.ts";
import { chooseSigner } from "../gate/signer.ts";
import { baseStatus, clusterEnforcement, earliestExpiry, podEntry } from "../status/build.ts";
import { cond, kubeTime, mergeConditions } from "../status/conditions.ts";
import { writeStatus } from "../status/write.ts";
import { metrics } from "../metrics.ts";
import { deleteClusterCas, dropLegacyCa, findCaSecrets, sweepOrphanCas } from "./ca-secret.ts";
import { ensureClientCas, ensureInternalCertificate, pkiRequeueMs, type ClientCas } from "./cluster-pki.ts";
import { cannotLoadIdentity, resolveKibanaIdentities, stillPresented } from "./kibana-identities.ts";
import { bundleRequeueMs, publishTrustBundle } from "./trust-bundle.ts";
import { contentHash, nextGeneration, retiredHash } from "./generation.ts";
import { publishIntents, retireIntents } from "./publish.ts";
import { log } from "../log.ts";
import { inertBundle } from "../pki/inert.ts";
import { Restarts } from "./restart.ts";
import { gatedEsPods } from "./not-injectable.ts";
import type { PendingReplacement } from "../gate/rollout.ts";
import { esTarget } from "./event-targets.ts";
import { authorizeKibanas } from "./references.ts";
import { reportIneffectiveSettings } from "./ineffective-settings.ts";
import { standAsideForEck } from "./eck.ts";
import { managerOf, type Manager } from "../policy/manager.ts";
import { foreignSecret, holdOff } from "./ownership.ts";
import { missingPods } from "./accounting.ts";
import { loadCluster, podRef, podsLabelledFor, type ClusterView, type PodView } from "./view.ts";
import type { ReconcilerDeps, ReportSource } from "./deps.ts";
import type { KibanaIdentity } from "./kibana.ts";
import { syncNamespaceLabels } from "./namespace-label.ts";

export class ClusterReconciler {
  /** The CA that signs agent CSRs of each cluster, between reconciles. */
  private readonly signers = new Map<string, CertificateAuthority>();
  /** Per cluster, the serial of a rotated CA that already signed (gate/signer.ts `signedBefore`); a restart re-checks the bundle. */
  private readonly newCaSigns = new Map<string, string>();
  private readonly restarts = new Restarts();

  constructor(private readonly d: ReconcilerDeps) {}

  caFor(namespace: string, esName: string): CertificateAuthority | undefined {
    return this.signers.get(`${namespace}/${esName}`);
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const loaded = await loadCluster(key, this.d);
    if (!loaded) {
      await syncNamespaceLabels(key, undefined, this.d); // its namespace may lose the active label
      return await this.gone(key);
    }
    metrics.inc("es_mtls_controller_reconciles_total", { cluster: key });
    const manager = managerOf(loaded.es);
    if (manager.by === "eck" && manager.implementsFeature) {
      this.forget(key);
      await syncNamespaceLabels(key, "ManagedByECK", this.d); // never active for es-mtls: no pod of it goes to the webhook
      return standAsideForEck(loaded, manager.version, this.d);
    }
    const refs = await authorizeKibanas(loaded, this.d);
    const c = refs.view;
    this.seedReports(c);
    const conditions: Condition[] = [refs.condition];

    const phase = await this.decidePhase(c, conditions, manager);
    await syncNamespaceLabels(key, phase, this.d); // before any pod of an Enabling cluster is re-created
    if (!isActive(phase)) return this.standDown(c, phase, conditions);
    const foreign = await foreignSecret(c, this.d);
    if (foreign) return holdOff(c, conditions, foreign, this.d);
    const cas = await this.ensureClientCas(c);
    const kibanas = await resolveKibanaIdentities(c.kibanas, { ...this.d, certValiditySeconds: this.certValiditySeconds(), clusterNamespace: c.namespace });
    conditions.push(kibanas.condition);
    // Pins of user certificates Kibana pods still present after their Kibana switched away (restart pending).
    // Terminating pods count: their Kibana still runs, and presents, until its grace period ends.
    const kibanaPods = c.kibanas.flatMap((kb) => this.d.caches.pods.list(kb.metadata.namespace).filter((p) => p.metadata?.labels?.[KIBANA_NAME_LABEL] === kb.metadata.name));
    const presented = await stillPresented(kibanaPods, kibanas.identities, this.d);
    const trust = await publishTrustBundle(c.es, cas, [...kibanas.identities, ...presented], this.d);
    conditions.push(trust.condition);
    await this.markRequired(c);
    const activeSince = isActive(c.prevPhase) && c.prevStatus.activeSince ? c.prevStatus.activeSince : kubeTime(new Date());
    conditions.push(await this.checkInjected(c, activeSince));
    await reportIneffectiveSettings(c, phase, this.d);
    const signing = await this.ensureSigner(c, cas, trust.bundle.sha256, conditions);
    const outstanding = this.restarts.outstanding(key, c.pods, c.prevStatus.pendingRestart);
    const gate = await this.gate(c, phase, trust.bundle.sha256, conditions, outstanding);
    // Hashed with the phase the intents will carry: a phase change is a content change, so a
    // transition bumps the generation in the same reconcile that publishes it.
    // Disabled carries only retired intents: hashed as standDown hashes them, so the resyncs after
    // the transition find the same generation and write nothing.
    const hash = gate.next === "Disabled" ? retiredHash("Disabled") : contentHash(gate.next, trust.bundle.sha256, kibanas.identities);
    const generation = nextGeneration(c.prevStatus, hash);
    if (gate.next === "Disabled") return this.finishDisabling(c, conditions, generation, hash);
    if (gate.next !== phase) await this.d.events.record(esTarget(c.es), "Normal", `ClientAuthentication${gate.next}`, `every Elasticsearch pod proved it requires client certificates`);
    const planned = this.restarts.plan(key, gate.next, phase, c.pods, { reports: this.withStranded(c, kibanas.identities), proven: gate.proven, bundleEverywhere: signing.waiting.length === 0 });
    const restart = await this.restarts.holdUnlessGreen(key, c.es, planned, c.pods, this.d);
    conditions.push(...restart.conditions);

    // Persist the generation before any agent sees it, so it is never reused after a restart.
    const expiries = [cas.current.certificate.notAfter, signing.internalNotAfter, ...trust.bundle.included.map((x) => new Date(x.notAfter))];
    const status = { ...this.activeStatus(c, { phase, next: gate.next, generation, hash, bundleSha256: trust.bundle.sha256, provenCount: gate.provenCount, expiries, conditions }), activeSince };
    await writeStatus(this.d.writer, c.es, c.clientAuth, restart.pending ? { ...status, pendingRestart: restart.pending } : status);
    const cluster = { namespace: c.namespace, name: c.name };
    publishIntents(this.d.intents, c.pods, { generation, cluster, phase: gate.next, bundle: { pem: trust.bundle.pem, sha256: trust.bundle.sha256 }, certValiditySeconds: this.certValiditySeconds() }, kibanas.identities);
    // Evict only now: the persisted phase is what the webhook injects the replacement pod with.
    await this.restarts.carryOut(key, c.es, restart.step, c.pods, this.d);
    return { requeueAfterMs: Math.min(pkiRequeueMs(cas, signing.internalNotAfter, this.d.pki), bundleRequeueMs(trust.bundle), this.d.resyncMs, restart.requeueMs ?? Infinity, signing.reloadedInMs ?? Infinity) };
  }

  // ---- the steps

  /**
   * The Elasticsearch is gone: its owned Secrets and status go with it (ownerReferences); its CA
   * Secret in the controller's namespace cannot be owned across namespaces, so it is deleted here.
   */
  private async gone(key: string): Promise<{ requeueAfterMs?: number }> {
    const [namespace, name] = key.split("/") as [string, string];
    this.forget(key);
    await deleteClusterCas(namespace, name, this.d);
    for (const pod of podsLabelledFor(namespace, name, this.d.caches)) this.d.intents.remove(namespace, pod.metadata!.name!);
    return {};
  }

  /** Reports persisted in status count until the agent reports again (a restarted controller). */
  private seedReports(c: ClusterView): void {
    for (const p of c.pods) {
      const entry = c.prevStatus.pods?.find((e) => e.name === p.pod.metadata!.name);
      if (entry) this.d.reports.seed(podRef(p), entry);
    }
  }

  /** The phase, from the spec, the one license rule and the persisted phase; its warnings recorded as Events. */
  private async decidePhase(c: ClusterView, conditions: Condition[], manager: Manager): Promise<Phase> {
    const license = licenseFromConfigMap(this.d.caches.license.list()[0]);
    const enablement = enablementCheck(c.es, license);
    const decision = decidePhase({
      wanted: c.es.spec?.http?.tls?.client?.authentication === true,
      problems: [...(manager.by === "eck" && !manager.implementsFeature ? [{ reason: "ECKTooOld" as const, message: `Elasticsearch ${c.key} is ${manager.reason}` }] : []), ...(enablement.ok ? [] : enablement.problems), ...probeProblems(c)],
      license: licenseState(license),
      previous: c.prevPhase,
    });
    for (const w of decision.warnings) await this.d.events.record(esTarget(c.es), "Warning", w.reason, w.message);
    conditions.push(...decision.conditions);
    return decision.phase;
  }

  /** Deletes CA Secrets whose cluster no longer exists (call with synced caches: at the start of a leadership, on resync). */
  sweepOrphanCas(): Promise<number> {
    return sweepOrphanCas(this.d);
  }

  private async ensureClientCas(c: ClusterView): Promise<ClientCas> {
    const found = await findCaSecrets(c, this.d);
    const cas = await ensureClientCas(c.es, found.existing, this.d.writer, this.d.pki, new Date(), found.existing ? undefined : found.legacy?.data);
    await dropLegacyCa(c, found.legacy, this.d);
    metrics.set("es_mtls_controller_client_ca_expiry_timestamp_seconds", { cluster: c.key }, Math.floor(cas.current.certificate.notAfter.getTime() / 1000));
    return cas;
  }

  /** The CA that signs from now on (gate/signer.ts), and the controller's own certificate issued by it. */
  private async ensureSigner(c: ClusterView, cas: ClientCas, bundleSha256: string, conditions: Condition[]): Promise<{ waiting: string[]; internalNotAfter: Date; reloadedInMs?: number }> {
    const esPods = c.esPods.map((p) => ({ name: p.pod.metadata!.name!, report: this.reportOf(p), bundleSince: this.d.reports.bundleSince(p.pod.metadata!.uid!) }));
    const waiting = waitingForBundle(esPods, bundleSha256);
    // No report may come when the last pod's ES has re-read the bundle: look again then.
    const reloadedInMs = bundleReloadedInMs(esPods, bundleSha256);
    const serial = cas.current.certificate.serialNumber;
    const signing = chooseSigner(cas.current, cas.previous, waiting, this.newCaSigns.get(c.key) === serial);
    if (cas.previous && signing.signer === cas.current) this.newCaSigns.set(c.key, serial);
    this.signers.set(c.key, signing.signer);
    const internalNotAfter = await ensureInternalCertificate(c.es, c.managedSecret(internalClientCertSecretName(c.name)), signing.signer, this.d.writer, this.d.pki);
    if (signing.condition) conditions.push(signing.condition);
    return { waiting, internalNotAfter, ...(reloadedInMs !== undefined ? { reloadedInMs } : {}) };
  }

  /** The proof gate: which pods proved the current material, and the phase that allows. */
  private async gate(
    c: ClusterView,
    phase: Phase,
    bundleSha256: string,
    conditions: Condition[],
    outstanding: PendingReplacement | undefined,
  ): Promise<{ next: Phase; proven: (p: PodView) => boolean; provenCount: number }> {
    const proven = (p: PodView) => proves(this.reportOf(p), p.role, podEnforcement(p.pod, phase), bundleSha256);
    let next = gatePhase(phase, gatedEsPods(c.esPods, phase).map((p) => ({ proven: proven(p), enforcement: podEnforcement(p.pod, phase) })));
    const provenCount = c.pods.filter(proven).length;
    // Proven pods are not enough: every pod the workload controllers will (re)create must be there.
    const missing = next !== phase ? await missingPods(c, outstanding, this.d) : undefined;
    if (missing) {
      next = phase;
      conditions.push(cond("Ready", "False", "WaitingForPods", `${provenCount}/${c.pods.length} pod(s) proven for phase ${phase}; ${missing}`));
    } else if (next === "Enabled" && !c.esPods.every(proven)) {
      // Enabled is a phase reached once; Ready is this reconcile's proofs, never a remembered claim.
      const unproven = c.esPods.filter((p) => !proven(p)).map((p) => p.pod.metadata!.name);
      conditions.push(cond("Ready", "False", "NotProven", `Elasticsearch pod(s) ${unproven.join(", ")} have not proven they require client certificates on the current bundle`));
    } else conditions.push(readyCondition(phase, next, provenCount, c.pods.length, bundleSha256));
    return { next, proven, provenCount };
  }

  private activeStatus(
    c: ClusterView,
    s: { phase: Phase; next: Phase; generation: number; hash: string; bundleSha256: string; provenCount: number; expiries: Date[]; conditions: Condition[] },
  ): ClientAuthenticationStatus {
    const entries = c.pods.map((p) => podEntry({ ...podRef(p), role: p.role, injected: hasInjectionRecord(p.pod) }, this.reportOf(p)));
    const expiries = [...s.expiries, ...entries.flatMap((e) => (e.certificateNotAfter ? [new Date(e.certificateNotAfter)] : []))];
    return {
      ...baseStatus(c.prevStatus),
      phase: s.next,
      // What the pods' agents proved, not what an annotation says they were configured with.
      enforcement: clusterEnforcement(c.esPods.map((p) => provenEnforcement(this.reportOf(p)))),
      intentGeneration: s.generation,
      intentHash: s.hash,
      podsProven: `${s.provenCount}/${c.pods.length}`,
      bundleHash: s.bundleSha256.slice(0, 12),
      bundleSha256: s.bundleSha256,
      earliestExpiry: earliestExpiry(expiries),
      pods: entries,
      conditions: mergeConditions(c.prevStatus.conditions, s.conditions),
    };
  }

  /** Disabled or Blocked: no intents, nothing in memory; say so in status if the cluster ever had one. */
  private async standDown(c: ClusterView, phase: Phase, conditions: Condition[]): Promise<{ requeueAfterMs: number }> {
    this.forget(c.key);
    // A cluster that never used client authentication gets no status object: nothing to say.
    if (!c.clientAuth && phase === "Disabled" && !c.annotated) {
      await this.retire(c, phase, Math.max(1, c.prevStatus.intentGeneration ?? 0));
      return { requeueAfterMs: this.d.resyncMs };
    }
    if (c.annotated && phase === "Disabled") await this.removeAnnotation(c);
    // Retired intents are content too: their own generation, persisted before any agent sees it, so
    // a later Enabling (a new hash) never reuses the number a retired intent went out with.
    const hash = retiredHash(phase);
    const generation = nextGeneration(c.prevStatus, hash);
    await writeStatus(this.d.writer, c.es, c.clientAuth, {
      ...baseStatus(c.prevStatus),
      phase,
      enforcement: "none",
      intentGeneration: generation,
      intentHash: hash,
      podsProven: `0/${c.pods.length}`,
      pods: [],
      conditions: mergeConditions(c.prevStatus.conditions, conditions),
    });
    await this.retire(c, phase, generation);
    return { requeueAfterMs: this.d.resyncMs };
  }

  /** ECK's annotation: the cluster requires (or is moving to require) client certificates. */
  private async markRequired(c: ClusterView): Promise<void> {
    if (c.annotated) return;
    await this.d.writer.apply({ apiVersion: c.es.apiVersion, kind: "Elasticsearch", metadata: { name: c.name, namespace: c.namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: "true" } } });
  }

  /** Pods created since the cluster became active without the agent: the webhook missed them (pods older than that are the rollout's). */
  private async checkInjected(c: ClusterView, activeSince: string): Promise<Condition> {
    const uninjected = findUninjected({ namespace: c.namespace, name: c.name }, c.pods.map((p) => p.pod), { createdAfter: new Date(activeSince) });
    if (!uninjected) return cond("PodsInjected", "True", "AllInjected", `${c.pods.length} pod(s) carry the agent`);
    await this.d.events.record(esTarget(c.es), "Warning", uninjected.reason, uninjected.message);
    return cond("PodsInjected", "False", uninjected.reason, uninjected.message);
  }

  /** Pods still carrying the agent get an intent that lets them start and stay out of the way (never a refusal). */
  private async retire(c: ClusterView, phase: Phase, generation: number): Promise<void> {
    const { kept } = retireIntents(this.d.intents, c.pods, { generation, cluster: { namespace: c.namespace, name: c.name }, phase, inertBundle: await inertBundle() });
    for (const pod of kept) log.debug("retired intent unchanged", pod);
  }

  /** Every ES pod proved it accepts clients without a certificate: annotation first (an orphaned one misleads), then the secrets. */
  private async finishDisabling(c: ClusterView, conditions: Condition[], generation: number, hash: string): Promise<{ requeueAfterMs: number }> {
    await this.removeAnnotation(c);
    for (const name of [internalClientCertSecretName(c.name), trustBundleSecretName(c.name), legacyClientCaSecretName(c.name)]) {
      // Only what es-mtls created (its label and an ownerReference to this Elasticsearch) is deleted.
      const secret = c.managedSecret(name);
      if (secret && isOwnSecret(secret, c.es)) await this.d.writer.deleteSecret(c.namespace, name, secret.metadata?.uid);
    }
    await deleteClusterCas(c.namespace, c.name, this.d);
    await this.retire(c, "Disabled", generation);
    this.forget(c.key);
    await this.d.events.record(esTarget(c.es), "Normal", "ClientAuthenticationDisabled", "every Elasticsearch pod accepts clients without a certificate; client certificate resources removed");
    await writeStatus(this.d.writer, c.es, c.clientAuth, {
      ...baseStatus(c.prevStatus),
      phase: "Disabled",
      enforcement: "none",
      intentGeneration: generation,
      intentHash: hash,
      podsProven: `0/${c.pods.length}`,
      pods: [],
      conditions: mergeConditions(c.prevStatus.conditions, conditions),
    });
    return { requeueAfterMs: this.d.resyncMs };
  }

  private async removeAnnotation(c: ClusterView): Promise<void> {
    if (c.es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === undefined) return;
    // A JSON merge patch removes the annotation whoever set it (ECK, a user, this controller).
    await this.d.writer.mergePatch({ apiVersion: c.es.apiVersion, kind: "Elasticsearch", metadata: { name: c.name, namespace: c.namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: null as unknown as string } } });
  }

  /** Drops what is kept in memory for a cluster that is gone or no longer active. */
  private forget(key: string): void {
    this.signers.delete(key);
    this.newCaSigns.delete(key);
    this.restarts.forget(key);
  }

  /** The reports, with every Kibana pod that cannot load its identity (kibana-identities.ts) marked as needing a restart. */
  private withStranded(c: ClusterView, identities: KibanaIdentity[]): ReportSource {
    const stranded = cannotLoadIdentity(c.pods.filter((p) => p.role === "kibana").map((p) => p.pod), identities);
    if (!stranded.size) return this.d.reports;
    return {
      get: (uid) => {
        const r = this.d.reports.get(uid);
        return stranded.has(uid) ? { ...(r ?? { generation: 0, ready: false, errors: [] }), restartRequired: true } : r;
      },
      seed: (pod, entry) => this.d.reports.seed(pod, entry),
    };
  }

  private reportOf(p: PodView) {
    return this.d.reports.get(p.pod.metadata!.uid!);
  }

  private certValiditySeconds(): number {
    return Math.floor((this.d.pki.agentCertValidityMs ?? this.d.pki.certValidityMs) / 1000);
  }
}

/** What an Elasticsearch pod's last proof showed it enforces: refused without a certificate = required. */
function provenEnforcement(r: StatusReport | undefined): Enforcement {
  return r?.ready && r.proof?.withCertificate === "accepted" && r.proof.withoutCertificate === "refused" ? "required" : "none";
}

/** Probes and hooks that would fail under `required` refuse enabling (before any restart; an active cluster keeps going). */
function probeProblems(c: ClusterView): EnablementProblem[] {
  const found = httpsCallsThatWouldFail(c.esPods.map((p) => p.pod));
  return found.length ? [{ reason: "ProbeWouldFail", message: describeHttpsProblems(c.key, found) }] : [];
}
