// Reconciles one Elasticsearch cluster: phase (the enable/disable state machine),
// PKI, trust bundle, ECK's annotation, per-pod intents and the ClientAuthentication
// status. Every write is skipped when the stored object already says the same.
import { createHash } from "node:crypto";
import * as k8s from "@kubernetes/client-node";
import type { Phase } from "../../protocol/intent.ts";
import type { Caches } from "../kube/informers.ts";
import type { Writer } from "../kube/writer.ts";
import type { EventRecorder, EventTarget } from "../kube/events.ts";
import {
  CLIENT_AUTHENTICATION,
  CLIENT_AUTH_REQUIRED_ANNOTATION,
  ES_CLUSTER_LABEL,
  ELASTICSEARCH,
  KIBANA,
  KIBANA_NAME_LABEL,
  apiVersionOf,
  clientCaSecretName,
  type ClientAuthentication,
  type ClientAuthenticationStatus,
  type Condition,
  type Elasticsearch,
  type Kibana,
  type PodStatusEntry,
} from "../kube/resources.ts";
import type { IntentStore } from "../intent-api/intent-store.ts";
import { buildTrustBundle, EmptyTrustBundleError, type TrustBundleResult } from "../trust/bundle.ts";
import { selectClientCertificateSecrets, type OwnerCandidate } from "../trust/sources.ts";
import { desiredTrustBundleSecret, isUpToDate, trustBundleSecretName } from "../trust/target.ts";
import { internalClientCertSecretName } from "../pki/leaf.ts";
import { ensureClientCas, ensureInternalCertificate, ownerReference, pkiRequeueMs, type PkiSettings } from "./cluster-pki.ts";
import { licenseState, LICENSE_MESSAGE } from "./license.ts";
import { elasticsearchIntent, INJECTED_ANNOTATION, isActive, kibanaIntent, podEnforcement } from "./intents.ts";
import { kibanaIdentity, referencesCluster, type KibanaIdentity } from "./kibana.ts";
import type { ReportStore } from "./reports.ts";
import { findUninjected } from "../webhooks/uninjected.ts";
import { controllerUid, nextRestart, replaced, type PendingReplacement } from "./rollout.ts";
import type { ClusterMode } from "../webhooks/injection.ts";
import type { CertificateAuthority } from "../pki/ca.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";

import { MSG_TLS as TLS_DISABLED_MESSAGE } from "../webhooks/validation.ts";

export interface ReconcilerDeps {
  caches: Caches;
  writer: Writer;
  events: EventRecorder;
  intents: IntentStore;
  reports: ReportStore;
  core: k8s.CoreV1Api;
  pki: PkiSettings;
  resyncMs: number;
}

interface PodView {
  pod: k8s.V1Pod;
  role: "elasticsearch" | "kibana";
  kibana?: Kibana;
}

const esTarget = (es: Elasticsearch): EventTarget => ({ apiVersion: apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: es.metadata.namespace, name: es.metadata.name, uid: es.metadata.uid });
const secretTarget = (s: k8s.V1Secret): EventTarget => ({ apiVersion: "v1", kind: "Secret", namespace: s.metadata!.namespace!, name: s.metadata!.name!, uid: s.metadata!.uid });
const kibanaTarget = (kb: Kibana): EventTarget => ({ apiVersion: apiVersionOf(KIBANA), kind: "Kibana", namespace: kb.metadata.namespace, name: kb.metadata.name, uid: kb.metadata.uid });

export class ClusterReconciler {
  /** Parsed CA per cluster, for signing agent CSRs between reconciles. */
  private readonly cas = new Map<string, CertificateAuthority>();
  /** Per cluster, the last pod restarted whose replacement has not appeared yet. */
  private readonly pendingReplacements = new Map<string, PendingReplacement>();

  constructor(private readonly d: ReconcilerDeps) {}

  /** Drops what is kept in memory for a cluster that is gone or no longer active. */
  private forget(key: string) {
    this.cas.delete(key);
    this.pendingReplacements.delete(key);
  }

  caFor(namespace: string, esName: string): CertificateAuthority | undefined {
    return this.cas.get(`${namespace}/${esName}`);
  }

  /** The cluster a pod belongs to ("namespace/name" of its Elasticsearch), if any. */
  clusterOfPod(pod: k8s.V1Pod): string | undefined {
    const labels = pod.metadata?.labels ?? {};
    const ns = pod.metadata?.namespace ?? "";
    if (labels[ES_CLUSTER_LABEL]) return `${ns}/${labels[ES_CLUSTER_LABEL]}`;
    const kbName = labels[KIBANA_NAME_LABEL];
    if (kbName) {
      const kb = this.d.caches.kibana.get(kbName, ns);
      const ref = kb?.spec?.elasticsearchRef;
      if (ref?.name) return `${ref.namespace || ns}/${ref.name}`;
    }
    return undefined;
  }

  /**
   * What the injection webhook needs for a new pod: its cluster's phase and what its
   * workload must be configured with. Undefined for pods of clusters without mTLS.
   */
  clusterMode(pod: k8s.V1Pod): ClusterMode | undefined {
    const key = this.clusterOfPod(pod);
    if (!key) return undefined;
    const [namespace, name] = key.split("/") as [string, string];
    const phase = this.d.writer.fresh("ClientAuthentication", namespace, name, this.d.caches.clientAuth.get(name, namespace))?.status?.phase as Phase | undefined;
    if (!phase || !isActive(phase)) return undefined;
    const labels = pod.metadata?.labels ?? {};
    if (labels[ES_CLUSTER_LABEL]) {
      // New Elasticsearch pods start into `required` while enabling or enabled, and without it while disabling.
      const es = this.d.caches.elasticsearch.get(name, namespace);
      const nodeSet = es?.spec?.nodeSets?.find((n) => labels["elasticsearch.k8s.elastic.co/statefulset-name"] === `${name}-es-${n.name}`);
      const cas = nodeSet?.config?.["xpack.security.http.ssl.certificate_authorities"];
      return {
        cluster: { namespace, name },
        role: "elasticsearch",
        phase,
        enforcement: phase === "Disabling" ? "none" : "required",
        ...(cas ? { userCertificateAuthorities: (Array.isArray(cas) ? cas : [cas]).map(String) } : {}),
      };
    }
    const kb = this.d.caches.kibana.get(labels[KIBANA_NAME_LABEL] ?? "", pod.metadata?.namespace);
    const userSecret = kb?.spec?.elasticsearchRef?.clientCertificateSecretName;
    return { cluster: { namespace, name }, role: "kibana", phase, enforcement: "none", ...(userSecret ? { kibanaUserSecret: userSecret } : {}) };
  }

  private podsOf(es: Elasticsearch, kibanas: Kibana[]): PodView[] {
    const out: PodView[] = [];
    for (const pod of this.d.caches.pods.list(es.metadata.namespace)) {
      if (pod.metadata?.labels?.[ES_CLUSTER_LABEL] === es.metadata.name && !pod.metadata?.deletionTimestamp) out.push({ pod, role: "elasticsearch" });
    }
    for (const kb of kibanas) {
      for (const pod of this.d.caches.pods.list(kb.metadata.namespace)) {
        if (pod.metadata?.labels?.[KIBANA_NAME_LABEL] === kb.metadata.name && !pod.metadata?.deletionTimestamp) out.push({ pod, role: "kibana", kibana: kb });
      }
    }
    return out.sort((a, b) => `${a.pod.metadata!.namespace}/${a.pod.metadata!.name}`.localeCompare(`${b.pod.metadata!.namespace}/${b.pod.metadata!.name}`, "en"));
  }

  async reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const [namespace, name] = key.split("/") as [string, string];
    const { caches, writer } = this.d;
    const es = writer.fresh("Elasticsearch", namespace, name, caches.elasticsearch.get(name, namespace));
    if (!es) {
      // Owned Secrets and the status object go with the Elasticsearch (ownerReferences).
      this.forget(key);
      for (const pod of caches.pods.list(namespace)) {
        if (pod.metadata?.labels?.[ES_CLUSTER_LABEL] === name) this.d.intents.remove(namespace, pod.metadata!.name!);
      }
      return {};
    }
    metrics.inc("es_mtls_controller_reconciles_total", { cluster: key });
    const clientAuth = writer.fresh("ClientAuthentication", namespace, name, caches.clientAuth.get(name, namespace));
    const prevStatus = clientAuth?.status ?? {};
    const annotated = es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === "true";
    const wanted = es.spec?.http?.tls?.client?.authentication === true;
    const tlsDisabled = es.spec?.http?.tls?.selfSignedCertificate?.disabled === true;
    const license = licenseState(caches.license.list()[0]);
    const prevPhase = (prevStatus.phase as Phase | undefined) ?? (annotated ? "Enabled" : "Disabled");
    const conditions: Condition[] = [];
    // Sorted: cache order differs between processes, and the content hash must not.
    const kibanas = caches.kibana
      .list()
      .filter((kb) => referencesCluster(kb, es))
      .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`, "en"));
    const pods = this.podsOf(es, kibanas);
    for (const { pod } of pods) {
      const entry = prevStatus.pods?.find((p) => p.name === pod.metadata!.name);
      if (entry) this.d.reports.seed({ namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid! }, entry);
    }

    // ---- the phase
    let phase: Phase;
    if (wanted) {
      if (tlsDisabled && !isActive(prevPhase)) {
        phase = "Blocked";
        conditions.push(cond("Ready", "False", "TLSDisabled", TLS_DISABLED_MESSAGE));
        await this.d.events.record(esTarget(es), "Warning", "TLSDisabled", TLS_DISABLED_MESSAGE);
      } else if (!license.enterprise && !isActive(prevPhase)) {
        phase = "Blocked";
        conditions.push(cond("Ready", "False", "LicenseRequired", `${LICENSE_MESSAGE} (current level: ${license.level})`));
        await this.d.events.record(esTarget(es), "Warning", "LicenseRequired", LICENSE_MESSAGE);
      } else {
        phase = prevPhase === "Enabled" ? "Enabled" : "Enabling";
      }
    } else {
      phase = isActive(prevPhase) ? "Disabling" : "Disabled";
    }
    conditions.push(
      license.enterprise
        ? cond("LicenseValid", "True", "Enterprise", `license level ${license.level}`)
        : cond("LicenseValid", "False", "LicenseRequired", `${LICENSE_MESSAGE} (current level: ${license.level})`),
    );
    if (!license.enterprise && isActive(phase) && wanted) {
      // Never cut clients off silently: keep the current trust, warn.
      await this.d.events.record(esTarget(es), "Warning", "LicenseLapsed", `${LICENSE_MESSAGE}; keeping the current client certificate trust until the license is restored or client authentication is turned off`);
    }

    if (!isActive(phase)) {
      for (const { pod } of pods) this.d.intents.remove(pod.metadata!.namespace!, pod.metadata!.name!);
      this.forget(key);
      // A cluster that never used client authentication gets no status object: nothing to say.
      if (!clientAuth && phase === "Disabled" && !annotated) return { requeueAfterMs: this.d.resyncMs };
      if (annotated && phase === "Disabled") await this.removeAnnotation(es);
      await this.writeStatus(es, clientAuth, { ...baseStatus(prevStatus), phase, enforcement: "none", podsProven: `0/${pods.length}`, pods: [], conditions: mergeConditions(prevStatus.conditions, conditions) });
      return { requeueAfterMs: this.d.resyncMs };
    }

    // ---- PKI and trust
    const cas = await ensureClientCas(es, writer.fresh("Secret", namespace, clientCaSecretName(name), caches.managedSecrets.get(clientCaSecretName(name), namespace)), writer, this.d.pki);
    metrics.set("es_mtls_controller_client_ca_expiry_timestamp_seconds", { cluster: key }, Math.floor(cas.current.certificate.notAfter.getTime() / 1000));

    const identities = await this.kibanaIdentities(kibanas);
    for (const k of identities) {
      if (!k.ok) await this.d.events.record(kibanaTarget(k.kibana), "Warning", "ClientCertificateInvalid", k.reason);
    }
    const badKibanas = identities.filter((k) => !k.ok);
    conditions.push(
      badKibanas.length
        ? cond("KibanaIdentities", "False", "ClientCertificateInvalid", badKibanas.map((k) => `Kibana ${k.kibana.metadata.namespace}/${k.kibana.metadata.name}: ${(k as { reason: string }).reason}`).join("; "))
        : cond("KibanaIdentities", "True", "Resolved", `${identities.length} Kibana identity(ies) resolved`),
    );

    const bundle = await this.buildBundle(es, cas.current.certificate.toString("pem"), cas.previous?.certificate.toString("pem"), identities);
    conditions.push(
      bundle.rejected.length
        ? cond("TrustBundleValid", "False", "InputsRejected", `${bundle.rejected.length} input(s) left out of the trust bundle; see Events`)
        : cond("TrustBundleValid", "True", "AllInputsValid", `${bundle.included.length} certificate(s) trusted`),
    );
    metrics.set("es_mtls_controller_trust_bundle_certificates", { cluster: key }, bundle.included.length);
    const desiredBundle = desiredTrustBundleSecret({ namespace, name, uid: es.metadata.uid, apiVersion: es.apiVersion }, bundle);
    const existingBundle = writer.fresh("Secret", namespace, trustBundleSecretName(name), caches.managedSecrets.get(trustBundleSecretName(name), namespace));
    if (!isUpToDate(existingBundle, desiredBundle)) await writer.apply(desiredBundle);
    if (!annotated) await writer.apply({ apiVersion: es.apiVersion, kind: "Elasticsearch", metadata: { name, namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: "true" } } });

    // ---- generation: bumped (and persisted) whenever the cluster-wide content changes
    const contentHash = hashOf({ phase, bundle: bundle.sha256, identities: identities.map((k) => (k.ok ? [k.kibana.metadata.uid, k.identity] : [k.kibana.metadata.uid, "invalid"])) });
    const generation = prevStatus.intentHash === contentHash ? (prevStatus.intentGeneration ?? 1) : (prevStatus.intentGeneration ?? 0) + 1;

    // ---- proofs and the next phase
    const esPods = pods.filter((p) => p.role === "elasticsearch");
    const proven = (p: PodView) => this.proven(p, phase, bundle.sha256);
    const entries = pods.map((p) => this.podEntry(p));
    const uninjected = findUninjected({ namespace, name }, pods.map((p) => p.pod));
    if (uninjected) await this.d.events.record(esTarget(es), "Warning", uninjected.reason, uninjected.message);
    conditions.push(
      uninjected
        ? cond("PodsInjected", "False", uninjected.reason, uninjected.message)
        : cond("PodsInjected", "True", "AllInjected", `${pods.length} pod(s) carry the agent`),
    );
    // Rotation overlap: the new CA signs only once every Elasticsearch pod loaded the
    // bundle that trusts it; until then the outgoing CA (still valid, still trusted) signs.
    const waitingForBundle = esPods.filter((p) => this.d.reports.get(p.pod.metadata!.uid!)?.bundleSha256 !== bundle.sha256);
    const signer = cas.previous && waitingForBundle.length ? cas.previous : cas.current;
    this.cas.set(key, signer);
    const internalNotAfter = await ensureInternalCertificate(
      es,
      writer.fresh("Secret", namespace, internalClientCertSecretName(name), caches.managedSecrets.get(internalClientCertSecretName(name), namespace)),
      signer,
      writer,
      this.d.pki,
    );
    if (cas.previous) {
      conditions.push(
        signer === cas.previous
          ? cond("CARotated", "False", "WaitingForBundle", `the new client CA signs once every Elasticsearch pod loaded the bundle that trusts it; waiting for ${waitingForBundle.map((p) => p.pod.metadata!.name).join(", ")}`)
          : cond("CARotated", "True", "NewCASigning", "every Elasticsearch pod trusts the new client CA; it signs new certificates, the previous one stays trusted until it expires"),
      );
    }
    let nextPhase: Phase = phase;
    if (phase === "Enabling" && esPods.every((p) => proven(p) && podEnforcement(p.pod, phase) === "required")) nextPhase = "Enabled";
    if (phase === "Disabling" && esPods.every((p) => proven(p) && podEnforcement(p.pod, phase) === "none")) nextPhase = "Disabled";
    const provenCount = pods.filter(proven).length;
    conditions.push(
      nextPhase === "Enabled"
        ? cond("Ready", "True", "AllPodsProven", `every Elasticsearch pod requires client certificates and trusts bundle ${bundle.sha256.slice(0, 12)}`)
        : cond("Ready", "False", phase === "Disabling" ? "WaitingForPods" : "Rolling", `${provenCount}/${pods.length} pod(s) proven for phase ${phase}`),
    );

    if (nextPhase === "Disabled") {
      // Annotation first (an orphaned annotation misleads), then the secrets (harmless if orphaned).
      await this.removeAnnotation(es);
      for (const secret of [internalClientCertSecretName(name), trustBundleSecretName(name), clientCaSecretName(name)]) await writer.deleteSecret(namespace, secret);
      for (const { pod } of pods) this.d.intents.remove(pod.metadata!.namespace!, pod.metadata!.name!);
      this.forget(key);
      await this.d.events.record(esTarget(es), "Normal", "ClientAuthenticationDisabled", "every Elasticsearch pod accepts clients without a certificate; client certificate resources removed");
      await this.writeStatus(es, clientAuth, { ...baseStatus(prevStatus), phase: "Disabled", enforcement: "none", intentGeneration: generation, intentHash: contentHash, podsProven: `0/${pods.length}`, pods: [], conditions: mergeConditions(prevStatus.conditions, conditions) });
      return { requeueAfterMs: this.d.resyncMs };
    }
    if (nextPhase !== phase) await this.d.events.record(esTarget(es), "Normal", `ClientAuthentication${nextPhase}`, `every Elasticsearch pod proved it requires client certificates`);

    // Restart running pods, one at a time, so they pick up the phase's settings.
    const pending = this.pendingReplacements.get(key);
    if (pending && replaced(pending, pods.map((p) => p.pod))) this.pendingReplacements.delete(key);
    const step = nextRestart(
      nextPhase,
      pods.map((p) => ({
        pod: p.pod,
        role: p.role,
        injected: !!p.pod.metadata?.annotations?.[INJECTED_ANNOTATION],
        enforcement: podEnforcement(p.pod, phase),
        proven: proven(p),
        restartRequired: this.d.reports.get(p.pod.metadata!.uid!)?.restartRequired === true,
      })),
      this.pendingReplacements.get(key),
      waitingForBundle.length === 0,
    );
    let rolloutRequeueMs: number | undefined;
    if ("evict" in step) {
      conditions.push(cond("PodsUpToDate", "False", "Restarting", `restarting pod ${step.evict.metadata!.name} ${step.why}`));
      rolloutRequeueMs = 5000;
    } else if ("wait" in step) {
      conditions.push(cond("PodsUpToDate", "False", "Waiting", step.wait));
      rolloutRequeueMs = 5000;
    } else {
      conditions.push(cond("PodsUpToDate", "True", "UpToDate", "every restartable pod runs with the current settings"));
    }

    const expiries = [cas.current.certificate.notAfter, internalNotAfter, ...bundle.included.map((c) => new Date(c.notAfter))];
    for (const e of entries) if (e.certificateNotAfter) expiries.push(new Date(e.certificateNotAfter));
    const status: ClientAuthenticationStatus = {
      ...baseStatus(prevStatus),
      phase: nextPhase,
      enforcement: esPods.length && esPods.every((p) => podEnforcement(p.pod, phase) === "required") ? "required" : esPods.some((p) => podEnforcement(p.pod, phase) === "required") ? "optional" : "none",
      intentGeneration: generation,
      intentHash: contentHash,
      podsProven: `${provenCount}/${pods.length}`,
      bundleHash: bundle.sha256.slice(0, 12),
      bundleSha256: bundle.sha256,
      earliestExpiry: new Date(Math.min(...expiries.map((d) => d.getTime()))).toISOString().replace(/\.\d{3}Z$/, "Z"),
      pods: entries,
      conditions: mergeConditions(prevStatus.conditions, conditions),
    };
    // Persist the generation before any agent sees it, so it is never reused after a restart.
    await this.writeStatus(es, clientAuth, status);

    const clusterInput = {
      generation,
      cluster: { namespace, name },
      phase: nextPhase,
      bundle: { pem: bundle.pem, sha256: bundle.sha256 },
      certValiditySeconds: Math.floor(this.d.pki.certValidityMs / 1000),
    };
    const identityOf = new Map(identities.map((k) => [k.kibana.metadata.uid, k]));
    for (const p of pods) {
      const ref = { namespace: p.pod.metadata!.namespace!, name: p.pod.metadata!.name! };
      if (p.role === "elasticsearch") this.d.intents.set(elasticsearchIntent(p.pod, clusterInput));
      else {
        const id = identityOf.get(p.kibana!.metadata.uid);
        // No partial configuration: a Kibana whose identity is unusable keeps what it has.
        if (id?.ok) this.d.intents.set(kibanaIntent(p.pod, clusterInput, id.identity));
        else if (!this.d.intents.get(ref.namespace, ref.name)) log.debug("no intent for kibana pod", ref);
      }
    }
    // Evict only now: the persisted phase is what the webhook injects the replacement pod with.
    if ("evict" in step) {
      const podName = step.evict.metadata!.name!;
      const evicted = await writer.evict(step.evict.metadata!.namespace!, podName);
      const ownerUid = controllerUid(step.evict);
      if (evicted && ownerUid) {
        const siblings = pods.filter((p) => controllerUid(p.pod) === ownerUid).map((p) => p.pod.metadata!.uid!);
        this.pendingReplacements.set(key, { pod: podName, ownerUid, knownUids: siblings });
      }
      await this.d.events.record(esTarget(es), "Normal", evicted ? "RestartingPod" : "RestartBlocked", evicted ? `restarting pod ${podName} ${step.why}` : `pod ${podName} must restart ${step.why}, but its PodDisruptionBudget refuses for now`);
    }
    return { requeueAfterMs: Math.min(pkiRequeueMs(cas, internalNotAfter, this.d.pki), this.d.resyncMs, rolloutRequeueMs ?? Infinity) };
  }

  private proven(p: PodView, phase: Phase, bundleSha: string): boolean {
    const r = this.d.reports.get(p.pod.metadata!.uid!);
    if (!r?.proof || !r.ready) return false;
    if (p.role === "kibana") return r.proof.withCertificate === "accepted";
    if (r.bundleSha256 !== bundleSha || r.proof.withCertificate !== "accepted") return false;
    const enforcement = podEnforcement(p.pod, phase);
    return enforcement === "required" ? r.proof.withoutCertificate === "refused" : r.proof.withoutCertificate === "accepted";
  }

  private podEntry(p: PodView): PodStatusEntry {
    const r = this.d.reports.get(p.pod.metadata!.uid!);
    const entry: PodStatusEntry = {
      name: p.pod.metadata!.name!,
      uid: p.pod.metadata!.uid!,
      role: p.role,
      injected: !!p.pod.metadata?.annotations?.[INJECTED_ANNOTATION],
    };
    if (r) {
      entry.appliedGeneration = r.generation;
      if (r.bundleSha256) entry.bundleSha256 = r.bundleSha256;
      if (r.certificate?.notAfter) entry.certificateNotAfter = r.certificate.notAfter;
      if (r.proof) {
        entry.withCertificate = r.proof.withCertificate;
        entry.withoutCertificate = r.proof.withoutCertificate;
      }
      entry.ready = r.ready;
    }
    return entry;
  }

  private async kibanaIdentities(kibanas: Kibana[]): Promise<KibanaIdentity[]> {
    const out: KibanaIdentity[] = [];
    for (const kb of kibanas) {
      const secretName = kb.spec?.elasticsearchRef?.clientCertificateSecretName;
      let secret: k8s.V1Secret | undefined;
      if (secretName) {
        // Read on demand: the controller does not cache every Secret in the cluster.
        try {
          secret = await this.d.core.readNamespacedSecret({ name: secretName, namespace: kb.metadata.namespace });
        } catch (e: any) {
          if (e?.code !== 404) throw e;
        }
      }
      out.push(kibanaIdentity(kb, secret, { certValiditySeconds: Math.floor(this.d.pki.certValidityMs / 1000) }));
    }
    return out;
  }

  private async buildBundle(es: Elasticsearch, caPem: string, previousCaPem: string | undefined, identities: KibanaIdentity[]): Promise<TrustBundleResult> {
    const cluster = { namespace: es.metadata.namespace, name: es.metadata.name };
    const owners: OwnerCandidate[] = [
      ...this.d.caches.elasticsearch.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(ELASTICSEARCH), kind: "Elasticsearch", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
      ...this.d.caches.kibana.list().map((o) => ({ apiVersion: o.apiVersion ?? apiVersionOf(KIBANA), kind: "Kibana", namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid })),
    ];
    const selection = selectClientCertificateSecrets([...this.d.caches.clientCertSecrets.list()], owners, cluster);
    for (const r of selection.rejected) {
      await this.d.events.record(secretTarget(r.secret), "Warning", "UntrustedClientCertificate", `not trusted by Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.reason}`);
      await this.d.events.record(esTarget(es), "Warning", "UntrustedClientCertificate", `Secret ${r.where}: ${r.reason}`);
    }
    const pinnedUserSecrets = identities.flatMap((k) => (k.ok && k.pinned ? [k.pinned] : []));
    const caCertificates = [{ label: "client CA (current)", pem: caPem }, ...(previousCaPem ? [{ label: "client CA (previous)", pem: previousCaPem }] : [])];
    let bundle: TrustBundleResult;
    try {
      bundle = await buildTrustBundle({ caCertificates, secrets: [...selection.selected, ...pinnedUserSecrets] });
    } catch (e) {
      // Cannot happen while the CA is valid; never publish an empty bundle.
      if (e instanceof EmptyTrustBundleError) throw new Error(`trust bundle of ${cluster.namespace}/${cluster.name} would be empty`);
      throw e;
    }
    const secretsByWhere = new Map([...selection.selected, ...pinnedUserSecrets].map((s) => [`Secret ${s.metadata!.namespace}/${s.metadata!.name}`, s]));
    for (const r of bundle.rejected) {
      const message = `left out of the trust bundle of Elasticsearch ${cluster.namespace}/${cluster.name}: ${r.source}${r.block ? ` block ${r.block}` : ""}: ${r.reason}`;
      const secret = [...secretsByWhere.entries()].find(([where]) => r.source === where || r.source.startsWith(`${where} `))?.[1];
      if (secret) await this.d.events.record(secretTarget(secret), "Warning", "ClientCertificateRejected", message);
      await this.d.events.record(esTarget(es), "Warning", "ClientCertificateRejected", message);
    }
    return bundle;
  }

  private async removeAnnotation(es: Elasticsearch) {
    if (es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === undefined) return;
    // A JSON merge patch removes the annotation whoever set it (ECK, a user, this controller).
    await this.d.writer.mergePatch({ apiVersion: es.apiVersion, kind: "Elasticsearch", metadata: { name: es.metadata.name, namespace: es.metadata.namespace, annotations: { [CLIENT_AUTH_REQUIRED_ANNOTATION]: null as unknown as string } } });
  }

  private async writeStatus(es: Elasticsearch, existing: ClientAuthentication | undefined, status: ClientAuthenticationStatus) {
    const { namespace, name } = es.metadata;
    if (!existing) {
      await this.d.writer.apply({
        apiVersion: apiVersionOf(CLIENT_AUTHENTICATION),
        kind: CLIENT_AUTHENTICATION.kind,
        metadata: { name, namespace, labels: { [ES_CLUSTER_LABEL]: name }, ownerReferences: [ownerReference(es)] },
        spec: {},
      } as k8s.KubernetesObject);
    }
    const stripped = (s: unknown) => JSON.stringify(s, (k, v) => (k === "lastTransitionTime" ? undefined : v));
    if (existing?.status && stripped(normalize(existing.status)) === stripped(normalize(status))) return;
    status.observedGeneration = es.metadata.generation;
    await this.d.writer.applyStatus(CLIENT_AUTHENTICATION, namespace, name, status);
  }
}

function cond(type: string, status: Condition["status"], reason: string, message: string): Condition {
  return { type, status, reason, message };
}

/** Keeps lastTransitionTime when a condition's status did not change. */
function mergeConditions(previous: Condition[] | undefined, next: Condition[]): Condition[] {
  const now = new Date().toISOString().replace(/\.\d{3}Z$/, "Z");
  const byType = new Map<string, Condition>();
  for (const c of next) byType.set(c.type, c); // a later condition of the same type wins
  return [...byType.values()]
    .map((c) => {
      const before = previous?.find((p) => p.type === c.type);
      return { ...c, lastTransitionTime: before && before.status === c.status ? before.lastTransitionTime ?? now : now };
    })
    .sort((a, b) => (a.type < b.type ? -1 : 1));
}

function baseStatus(prev: Partial<ClientAuthenticationStatus>): ClientAuthenticationStatus {
  return {
    phase: "Disabled",
    enforcement: "none",
    intentGeneration: prev.intentGeneration ?? 0,
    intentHash: prev.intentHash ?? "",
    podsProven: "0/0",
    pods: [],
    conditions: [],
  };
}

/** Status as compared for "did anything change": field order and absent-vs-undefined do not count. */
function normalize(s: Partial<ClientAuthenticationStatus>): unknown {
  const { observedGeneration: _o, ...rest } = s;
  // An array replacer also fixes the key order: canonical JSON.
  return JSON.parse(JSON.stringify(rest, allKeys(rest)));
}

function allKeys(v: unknown, acc = new Set<string>()): string[] {
  if (v && typeof v === "object") for (const [k, x] of Object.entries(v)) (acc.add(k), allKeys(x, acc));
  return [...acc].sort();
}

function hashOf(v: unknown): string {
  return createHash("sha256").update(JSON.stringify(v)).digest("hex").slice(0, 16);
}
