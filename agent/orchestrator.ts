// The agent's core: turns intents into files on disk, keeps the identity fresh, has
// the workload's use of them proven, and reports. Every change to the file set goes
// through one serialized reconcile(), so writes never interleave. The collaborators
// (intent feed, identity source, material store, prover, reporter) are passed in:
// assemble.ts wires the real ones, the unit tests fakes. (Just over 300 lines: the reconcile's
// steps share the state of one serialized run, which splitting further would only pass around.)
import type { Intent } from "../protocol/intent.ts";
import { localPath, type AgentConfig } from "./config.ts";
import { IdentityError, isRefusal } from "./errors.ts";
import type { IdentitySource } from "./identity/provider.ts";
import { retryDelay } from "./identity/schedule.ts";
import { Alarm } from "./identity/alarm.ts";
import { bundleOf, checkIntent, droppedDetail } from "./intent/check.ts";
import type { IntentFeed } from "./intent/stream.ts";
import { errorMessage, logger } from "./log.ts";
import type { BundleMaterial, Material, PodIdentity } from "./material/material.ts";
import { BundleMemo } from "./material/pem.ts";
import { ProofLoop, type ProofRecord } from "./prove/proof-loop.ts";
import type { Prover } from "./prove/prover.ts";
import type { Metrics } from "./report/metrics.ts";
import { Readiness, type Verdict } from "./report/readiness.ts";
import type { StatusSink } from "./report/reporter.ts";
import { ErrorLog, type AgentState } from "./report/status.ts";
import type { FileSpec, MaterialStore } from "./write/store.ts";

interface Collaborators {
  feed: IntentFeed;
  identity: IdentitySource;
  store: MaterialStore;
  prover: Prover;
  reporter: StatusSink;
  metrics: Metrics;
  /** Elasticsearch: the local probe identity for curl (probe-identity/); kept apart from the pod's material. */
  probe?: { apply(i: Intent): Promise<void>; stop(): void };
}

export class Orchestrator {
  private intent: Intent | undefined; // the applied one
  private pending: Intent | undefined; // the newest received, not yet checked
  /**
   * The newest accepted intent that is not on disk yet (its write failed), why, and the identity
   * obtained for it (reused on the retry rather than asking the controller again).
   */
  private unwritten: { intent: Intent; detail: string; identity?: PodIdentity } | undefined;
  private resolved: PodIdentity | undefined; // the identity of the reconcile under way
  private material: Material = {};
  private readonly bundleMemo = new BundleMemo(); // the last bundle's certificates, not parsed again
  /** Bumped whenever what the workload should serve changes; proofs are about one version. */
  private materialVersion = 0;
  private readonly errors = new ErrorLog();
  private readonly readinessLatch = new Readiness();
  private readonly proofs: ProofLoop;
  private started = false;
  private connected = false;
  private stopping = false;

  // Serialized reconcile: a request while one runs sets `again`.
  private running = false;
  private again = false;
  private writing: Promise<unknown> | null = null;
  private retryAttempt = 0;
  private droppedReported: string | undefined; // the last bundle whose dropped entries were reported
  private readonly retryAlarm = new Alarm();
  private readonly renewAlarm = new Alarm();
  private userPoll: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly cfg: AgentConfig, private readonly c: Collaborators) {
    this.proofs = new ProofLoop(
      {
        attempt: () => (this.intent ? c.prover.proveOnce(this.intent, this.material) : Promise.resolve({ ok: false, withCertificate: "error", withoutCertificate: "error", detail: "no intent applied yet" })),
        version: () => this.materialVersion,
        onResult: (p) => this.onProof(p),
      },
      { timeoutMs: cfg.proofTimeoutMs, intervalMs: cfg.proofIntervalMs, reproveMs: cfg.reproveIntervalMs },
    );
  }

  /** Adopts the configured directory (--dir), if any, before anything is served. */
  async open(): Promise<void> {
    if (this.cfg.dir) await this.adopt(localPath(this.cfg, this.cfg.dir));
  }

  /** Starts taking intents. */
  start(): void {
    this.userPoll = setInterval(() => {
      if (this.intent?.identity?.source === "userProvided") this.kick();
    }, this.cfg.userPollMs);
    this.c.feed.start({
      onIntent: (i) => this.onIntent(i),
      onBadLine: (d) => {
        this.c.metrics.refusedIntents.inc();
        this.errors.add("intent", d);
        this.c.reporter.report();
      },
      onConnected: () => {
        this.connected = true;
        logger.info("intent stream connected", { after: this.c.feed.lastGeneration });
      },
      onDisconnected: (reason) => {
        if (this.connected || !this.stopping) this.c.metrics.reconnects.inc();
        this.connected = false;
        if (!this.stopping) logger.warn("intent stream disconnected", { reason });
      },
    });
  }

  /** SIGTERM: stop taking work, let an in-flight write finish, then return. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.c.feed.stop();
    this.c.reporter.stop();
    this.proofs.stop();
    this.c.probe?.stop();
    this.retryAlarm.clear();
    this.renewAlarm.clear();
    clearInterval(this.userPoll);
    if (this.writing) await this.writing.catch(() => {});
  }

  get alive(): boolean {
    return !this.stopping;
  }

  /** True once a complete set of material is on disk (what /startupz reports). */
  get hasMaterial(): boolean {
    return this.started;
  }

  readiness(): Verdict {
    const u = this.unwritten;
    const unwritten = u && { generation: u.intent.generation, detail: u.detail };
    return this.readinessLatch.evaluate({ material: this.servedMaterial(), materialVersion: this.materialVersion, proof: this.proofs.last, unwritten });
  }

  /**
   * What the workload serves from: an Elasticsearch pod's identity is only the agent's proof identity,
   * in memory and short-lived (2 h, issue 18 finding 5), so its expiry while the controller is out of
   * reach must not take the pod out of its Service; Kibana presents its identity, so it counts there.
   */
  private servedMaterial(): Material {
    if (!this.intent || identityOnDisk(this.intent)) return this.material;
    return this.material.bundle ? { bundle: this.material.bundle } : {};
  }

  state(): AgentState {
    return {
      generation: this.intent?.generation ?? 0,
      intent: this.intent,
      unwrittenGeneration: this.unwritten?.intent.generation,
      material: this.material,
      materialVersion: this.materialVersion,
      proof: this.proofs.last,
      restartRequired: this.c.prover.restartRequired,
      readiness: this.readiness(),
      errors: this.errors.list(),
      connected: this.connected,
      started: this.started,
      dir: this.c.store.dir,
    };
  }

  private onIntent(intent: Intent): void {
    logger.info("intent received", { generation: intent.generation, phase: intent.phase, enforcement: intent.enforcement });
    this.pending = intent;
    this.kick();
  }

  private kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    void (async () => {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again && !this.stopping);
      this.running = false;
    })();
  }

  /** Check → adopt the directory → bundle → identity → write → schedule → prove. */
  private async reconcile(): Promise<void> {
    // Newest first: a received intent, else one whose write failed, else the applied one (renewal, user files).
    const next = this.pending ?? this.unwritten?.intent ?? this.intent;
    if (!next) return;
    const fresh = next !== this.intent;
    this.pending = undefined;
    this.resolved = undefined;
    try {
      checkIntent(next, { role: this.cfg.role, ...(this.cfg.dir ? { dir: this.cfg.dir } : {}) });
      await this.adopt(localPath(this.cfg, this.cfg.dir ?? next.files.dir));
      if (!this.material.bundle && !this.material.identity) await this.loadFromDisk(next);
      const bundle = bundleOf(next, new Date(), this.bundleMemo);
      const { identity, failure } = await this.identityFor(next);
      this.resolved = identity;
      await this.publish(next, bundle, identity);
      this.intent = next;
      this.unwritten = undefined;
      void this.c.probe?.apply(next); // its own retries; never holds up the material
      this.noteDropped(next, bundle);
      this.scheduleRenewal();
      if (failure) throw failure;
      this.retryAttempt = 0;
      if (fresh || !this.proofs.isCurrent(this.materialVersion)) this.proofs.request();
    } catch (e) {
      this.failed(next, e);
    }
    this.c.reporter.report();
  }

  /**
   * A refused intent stays refused; only transient failures (controller, disk, issuance) are retried.
   * An intent that failed before reaching the disk stays the one to apply (issue 13: falling back to the
   * older one left the agent on stale trust, and ready), and the pod is unready until it is written.
   */
  private failed(next: Intent, e: unknown): void {
    if (isRefusal(e)) {
      this.c.metrics.refusedIntents.inc();
      this.errors.add("intent", `generation ${next.generation} refused: ${errorMessage(e)}`);
      if (this.unwritten?.intent === next) this.unwritten = undefined;
      // The applied intent can turn refused (its bundle expired); an older unwritten one is still owed.
      if (this.intent === next || this.unwritten) this.scheduleRetry();
      return;
    }
    const detail = errorMessage(e);
    this.errors.add("apply", detail);
    if (this.intent !== next) this.unwritten = { intent: next, detail, ...(this.resolved ? { identity: this.resolved } : {}) };
    this.scheduleRetry();
  }

  /** Adopts a directory (crash leftovers repaired by the store); what it holds is read on the next reconcile. */
  private async adopt(dir: string): Promise<void> {
    if (this.c.store.dir === dir) return;
    const published = await this.c.store.open(dir);
    this.material = {};
    if (published) this.started = true;
  }

  private async loadFromDisk(i: Intent): Promise<void> {
    const m = await this.c.store.load(i.files);
    // A key file on an ES volume (left by an older agent) is not adopted: the next write drops it.
    this.material = identityOnDisk(i) ? m : { ...(m.bundle ? { bundle: m.bundle } : {}) };
    if (this.material.identity) this.c.prover.noteIdentity(this.material.identity, false);
  }

  /** The identity to write; on failure, the current one while it is still valid, and the failure to retry. */
  private async identityFor(i: Intent): Promise<{ identity: PodIdentity | undefined; failure?: IdentityError }> {
    try {
      return { identity: await this.c.identity.resolve(i, this.unwritten?.identity ?? this.material.identity) };
    } catch (e) {
      const failure = e instanceof IdentityError ? e : new IdentityError(errorMessage(e), { cause: e });
      const cur = this.material.identity;
      // Keep presenting the previous identity while it is still valid.
      const keep = cur && cur.leaf.notAfter.getTime() > Date.now() && i.identity ? cur : undefined;
      return { identity: keep, failure };
    }
  }

  /** Writes the set the intent asks for and records what is now on disk. */
  private async publish(next: Intent, bundle: BundleMaterial | undefined, identity: PodIdentity | undefined): Promise<void> {
    const files: FileSpec[] = [];
    if (bundle) files.push({ name: next.files.bundle, data: bundle.pem });
    // Kibana reads its identity from the files. An Elasticsearch pod's identity only proves, from this
    // process, that ES accepts what it trusts: its key stays in memory, never on ES's config volume.
    if (identity && identityOnDisk(next)) files.push({ name: next.files.certificate, data: identity.certPem }, { name: next.files.key, data: identity.keyPem });
    if (this.stopping || (!files.length && !identity)) return;
    const p = files.length ? this.c.store.write(files, { mode: this.cfg.fileMode ?? next.files.mode, uid: this.cfg.uid ?? next.files.uid, gid: this.cfg.gid ?? next.files.gid }) : Promise.resolve("unchanged" as const);
    this.writing = p;
    let result: Awaited<typeof p>;
    try {
      result = await p;
    } catch (e) {
      this.c.metrics.writes.inc({ result: "error" });
      throw e;
    } finally {
      this.writing = null;
    }
    this.c.metrics.writes.inc({ result });
    const before = this.material;
    const identityChanged = identity?.sha256 !== before.identity?.sha256;
    const bundleChanged = bundle?.sha256 !== before.bundle?.sha256;
    if (identity && identityChanged) identity.writtenAt = Date.now();
    this.material = { ...(bundle ? { bundle } : {}), ...(identity ? { identity } : {}) };
    // An identity that replaced another: Kibana cannot have read it yet, it needs a restart until a proof says otherwise.
    if (identity) this.c.prover.noteIdentity(identity, identityChanged && before.identity !== undefined);
    this.started = true;
    if (result === "written") {
      logger.info("material written", { dir: this.c.store.dir, generation: next.generation, files: files.map((f) => f.name), bundleSha256: bundle?.sha256, certificateSha256: identity?.sha256 });
    }
    if (result === "written" || bundleChanged || identityChanged || next.enforcement !== this.intent?.enforcement) this.materialVersion++;
  }

  /** Each set of expired entries left out is reported once (errors[] and a counter), not on every re-apply. */
  private noteDropped(i: Intent, b: BundleMaterial | undefined): void {
    const key = b?.dropped?.length ? `${b.intentSha256}/${b.sha256}` : undefined;
    if (!b?.dropped || !key || key === this.droppedReported) return;
    this.droppedReported = key;
    this.c.metrics.droppedBundleEntries.inc({}, b.dropped.length);
    this.errors.add("bundle", droppedDetail(i.generation, b.dropped));
  }

  /** Wakes for the identity's renewal, and a second after a bundle entry expires to drop it from disk without waiting for the controller. */
  private scheduleRenewal(): void {
    const renew = this.intent?.identity && this.intent.identity.source !== "userProvided" ? this.material.identity?.renewAt?.getTime() : undefined;
    const bundle = this.material.bundle && this.material.bundle.earliestNotAfter.getTime() + 1000;
    this.renewAlarm.at(Math.min(renew ?? Infinity, bundle ?? Infinity), () => this.kick());
  }

  private scheduleRetry(): void {
    if (this.stopping) return;
    const d = retryDelay(this.retryAttempt++, new Date(), this.material.identity?.leaf.notAfter, { minMs: this.cfg.backoffMinMs, maxMs: this.cfg.backoffMaxMs });
    logger.info("retry scheduled", { delayMs: d });
    this.retryAlarm.at(Date.now() + d, () => this.kick());
  }

  private onProof(p: ProofRecord): void {
    this.c.metrics.proofs.inc({ result: p.ok ? "success" : "failure" });
    this.readinessLatch.noteProof(p, this.servedMaterial());
    if (p.ok) logger.info("proof succeeded", { detail: p.detail, generation: this.intent?.generation });
    else {
      this.errors.add("proof", p.detail);
      logger.warn("proof failed", { detail: p.detail, generation: this.intent?.generation });
    }
    this.c.reporter.report();
  }
}

/** Whether the identity is written to the shared volume: only where the workload presents it (Kibana). */
function identityOnDisk(i: Intent): boolean {
  return i.role !== "elasticsearch";
}
