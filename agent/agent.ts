// The agent's core: turns intents into files on disk, keeps the identity fresh,
// proves the workload loaded it, and reports. All changes to the file set go through
// one serialized reconcile() so writes never interleave.
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import {
  PATHS,
  type CertificateResponse,
  type Intent,
  type ManagedIdentity,
  type Proof,
  type StatusReport,
} from "../protocol/intent.ts";
import { AtomicWriter, checkName, type FileSpec } from "./atomic-writer.ts";
import type { AgentConfig } from "./config.ts";
import { ControllerClient } from "./controller-client.ts";
import { healthApp } from "./health-server.ts";
import {
  CLIENT_AUTH_OID,
  createCsr,
  generateKey,
  keyAlgorithmOf,
  renewalTime,
  retryDelay,
  subjectMatches,
} from "./identity.ts";
import { IntentStream } from "./intent-stream.ts";
import { errorMessage, logger } from "./log.ts";
import { Metrics } from "./metrics.ts";
import { PemError, sha256Hex, validateBundle, validateCertificate, validateKeyPair } from "./pem.ts";
import { kibanaStatus, proveElasticsearchOnce } from "./proof.ts";
import { Reporter } from "./reporter.ts";
import type { RuntimeAdapter, Served } from "./runtime/adapter.ts";
import { x509 } from "./x509.ts";

/** What is published on disk right now (as read back or as last written). */
interface Material {
  bundle?: { pem: string; sha256: string; earliestNotAfter: Date };
  identity?: { certPem: string; keyPem: string; leaf: x509.X509Certificate; sha256: string; renewAt?: Date; writtenAt: number };
}

export class IntentError extends Error {}

const MAX_ERRORS = 20;

export class Agent {
  readonly metrics = new Metrics();
  private readonly client: ControllerClient;
  private readonly stream: IntentStream;
  private readonly reporter: Reporter;
  private writer: AtomicWriter | null = null;
  private intent: Intent | undefined;
  private appliedGeneration = 0;
  private material: Material = {};
  private errors: StatusReport["errors"] = [];
  private started = false;
  private connected = false;
  private stopping = false;
  private forceRenew = false;

  // Serialized reconcile: a request while one runs sets `again`.
  private running: Promise<void> | null = null;
  private again = false;
  private writing: Promise<unknown> | null = null;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private renewTimer: ReturnType<typeof setTimeout> | undefined;
  private retryAttempt = 0;

  // Proof state for the material version `materialVersion`.
  private materialVersion = 0;
  private proof: (Proof & { ok: boolean; version: number }) | undefined;
  private provenNotAfter: number | undefined; // latch: the last proven material stays good until it expires
  private proofRunning = false;
  private proofTimer: ReturnType<typeof setTimeout> | undefined;
  private restartRequired = false;
  /** Kibana: identities written, to tell which one the running process read at start. */
  private identityHistory: Array<{ sha256: string; writtenAt: number; notAfter: number }> = [];

  private server: Served | null = null;
  private userPoll: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly rt: RuntimeAdapter, private readonly cfg: AgentConfig) {
    this.client = new ControllerClient(rt, { baseUrl: cfg.controllerUrl, caFile: this.local(cfg.controllerCaFile), tokenFile: this.local(cfg.tokenFile) });
    this.stream = new IntentStream(this.client, cfg, {
      onIntent: (i) => this.onIntent(i),
      onBadLine: (d) => {
        this.metrics.refusedIntents.inc();
        this.error("intent", d);
        this.reporter.report();
      },
      onConnected: () => {
        this.connected = true;
        logger.info("intent stream connected", { after: this.stream.lastGeneration });
      },
      onDisconnected: (reason) => {
        if (this.connected || !this.stopping) this.metrics.reconnects.inc();
        this.connected = false;
        if (!this.stopping) logger.warn("intent stream disconnected", { reason });
      },
    });
    this.reporter = new Reporter(this.client, () => this.statusReport(), {
      timeoutMs: cfg.requestTimeoutMs,
      backoffMinMs: cfg.backoffMinMs,
      backoffMaxMs: cfg.backoffMaxMs,
    });
  }

  async start(): Promise<void> {
    if (this.cfg.dir) await this.openDir(this.local(this.cfg.dir));
    const app = healthApp({
      alive: () => !this.stopping,
      started: () => this.started,
      readiness: () => this.readiness(),
      status: () => this.statusJson(),
      metrics: () =>
        this.metrics.render({
          ...(this.material.identity ? { certNotAfter: this.material.identity.leaf.notAfter } : {}),
          ...(this.material.bundle ? { bundleSha256: this.material.bundle.sha256 } : {}),
          generation: this.appliedGeneration,
          ready: this.readiness().ready,
          connected: this.connected,
        }),
    });
    this.server = await this.rt.serve({ hostname: this.cfg.healthAddr, port: this.cfg.healthPort, fetch: app.fetch });
    logger.info("health server listening", { addr: this.cfg.healthAddr, port: this.server.port, runtime: this.rt.name });
    this.userPoll = setInterval(() => {
      if (this.intent?.identity?.source === "userProvided") this.kick();
    }, this.cfg.userPollMs);
    void this.stream.run();
  }

  /** True once a complete set of material is on disk (what /startupz reports). */
  get hasMaterial(): boolean {
    return this.started;
  }

  /** SIGTERM: stop taking work, let an in-flight write finish, then return. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.stream.stop();
    this.reporter.stop();
    clearTimeout(this.retryTimer);
    clearTimeout(this.renewTimer);
    clearTimeout(this.proofTimer);
    clearInterval(this.userPoll);
    if (this.writing) await this.writing.catch(() => {});
    await this.server?.close().catch(() => {});
  }

  // ---------- disk ----------

  /** Adopts a directory: repairs crash leftovers, then reads back what is published. */
  private async openDir(dir: string): Promise<void> {
    if (this.writer?.dir === dir) return;
    const w = new AtomicWriter(dir);
    const { removed } = await w.recover();
    if (removed.length) logger.warn("recovered from an interrupted write", { dir, removed });
    this.writer = w;
    this.material = {};
    const names = await w.publishedNames();
    if (names.length) {
      logger.info("found published material", { dir, files: names });
      this.started = true; // what is there is complete: recover() guarantees it
    }
  }

  private async loadFromDisk(intent: Intent): Promise<void> {
    const w = this.writer!;
    const m: Material = {};
    const bundle = await w.read(intent.files.bundle);
    if (bundle) {
      try {
        const certs = validateBundle(bundle, "trust bundle on disk");
        m.bundle = { pem: bundle, sha256: sha256Hex(bundle), earliestNotAfter: earliest(certs) };
      } catch (e) {
        logger.warn("ignoring trust bundle on disk", { error: errorMessage(e) });
      }
    }
    const cert = await w.read(intent.files.certificate);
    const key = await w.read(intent.files.key);
    if (cert && key) {
      try {
        const leaf = validateCertificate(cert, "certificate on disk", new Date(0));
        validateKeyPair(leaf, key, "key on disk");
        const st = await fsp.stat(join(w.dir, intent.files.certificate));
        m.identity = { certPem: cert, keyPem: key, leaf, sha256: sha256Hex(cert), writtenAt: st.mtimeMs };
        this.noteIdentity(m.identity);
      } catch (e) {
        logger.warn("ignoring identity on disk", { error: errorMessage(e) });
      }
    }
    this.material = m;
  }

  // ---------- intents ----------

  private onIntent(intent: Intent): void {
    logger.info("intent received", { generation: intent.generation, phase: intent.phase, enforcement: intent.enforcement });
    this.pending = intent;
    this.kick();
  }
  private pending: Intent | undefined;

  private kick(): void {
    if (this.stopping) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = (async () => {
      do {
        this.again = false;
        await this.reconcile();
      } while (this.again && !this.stopping);
      this.running = null;
    })();
  }

  private async reconcile(): Promise<void> {
    const next = this.pending ?? this.intent;
    if (!next) return;
    const fresh = next !== this.intent;
    this.pending = undefined;
    try {
      this.checkIntent(next);
    } catch (e) {
      this.metrics.refusedIntents.inc();
      this.error("intent", `generation ${next.generation} refused: ${errorMessage(e)}`);
      this.reporter.report();
      return;
    }
    try {
      const dir = this.local(this.cfg.dir ?? next.files.dir);
      if (!this.writer || this.writer.dir !== dir) {
        await this.openDir(dir);
      }
      if (!this.material.bundle && !this.material.identity) await this.loadFromDisk(next);
      const files: FileSpec[] = [];
      let bundle = this.material.bundle;
      if (next.trustBundle) {
        bundle = this.bundleFrom(next);
        files.push({ name: next.files.bundle, data: bundle.pem });
      } else bundle = undefined;

      let identity: Material["identity"] | undefined;
      let identityError: string | undefined;
      try {
        identity = await this.identityFor(next);
      } catch (e) {
        identityError = errorMessage(e);
        // Keep presenting the previous identity while it is still valid.
        const cur = this.material.identity;
        if (cur && cur.leaf.notAfter.getTime() > Date.now() && next.identity) identity = cur;
      }
      if (identity) files.push({ name: next.files.certificate, data: identity.certPem }, { name: next.files.key, data: identity.keyPem });

      if (files.length && !this.stopping) {
        const mode = this.cfg.fileMode ?? next.files.mode;
        const uid = this.cfg.uid ?? next.files.uid;
        const gid = this.cfg.gid ?? next.files.gid;
        const p = this.writer!.write(files, { mode, uid, gid });
        this.writing = p;
        let result: Awaited<typeof p>;
        try {
          result = await p;
        } catch (e) {
          this.metrics.writes.inc({ result: "error" });
          throw new Error(`writing ${this.writer!.dir}: ${errorMessage(e)}`);
        } finally {
          this.writing = null;
        }
        this.metrics.writes.inc({ result });
        const identityChanged = identity?.sha256 !== this.material.identity?.sha256;
        const bundleChanged = bundle?.sha256 !== this.material.bundle?.sha256;
        if (identity && identityChanged) {
          identity.writtenAt = Date.now();
          // Kibana cannot have read a file written just now: it needs a restart until a proof says otherwise.
          if (next.role === "kibana" && this.material.identity) this.restartRequired = true;
        }
        this.material = { ...(bundle ? { bundle } : {}), ...(identity ? { identity } : {}) };
        if (identity) this.noteIdentity(identity);
        this.started = true;
        if (result === "written") {
          logger.info("material written", { dir: this.writer!.dir, generation: next.generation, files: files.map((f) => f.name), bundleSha256: bundle?.sha256, certificateSha256: identity?.sha256 });
        }
        if (result === "written" || bundleChanged || identityChanged || next.enforcement !== this.intent?.enforcement) {
          this.materialVersion++;
        }
      }
      this.intent = next;
      this.appliedGeneration = next.generation;
      this.scheduleRenewal();
      if (identityError) throw new Error(identityError);
      this.retryAttempt = 0;
      if (fresh || !this.proof || this.proof.version !== this.materialVersion) this.startProof();
    } catch (e) {
      const refused = e instanceof PemError || e instanceof IntentError;
      if (refused) this.metrics.refusedIntents.inc();
      this.error(refused ? "intent" : "apply", refused ? `generation ${next.generation} refused: ${errorMessage(e)}` : errorMessage(e));
      // A refused intent stays refused; only transient failures (controller, disk, issuance) are retried.
      if (!refused || this.intent === next) this.scheduleRetry();
    }
    this.reporter.report();
  }

  private checkIntent(i: Intent): void {
    if (i.role !== this.cfg.role) throw new IntentError(`role "${i.role}" does not match this agent's role "${this.cfg.role}"`);
    const f = i.files;
    if (!f || typeof f.dir !== "string" || !f.dir.startsWith("/")) throw new IntentError(`files.dir "${f?.dir}" is not an absolute path`);
    if (this.cfg.dir && f.dir !== this.cfg.dir) throw new IntentError(`files.dir "${f.dir}" is not the configured directory "${this.cfg.dir}"`);
    for (const n of [f.bundle, f.certificate, f.key]) checkName(n);
    if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777) throw new IntentError(`files.mode ${f.mode} is not a file mode`);
    if (i.role === "elasticsearch" && !i.trustBundle) throw new IntentError("an elasticsearch intent must carry a trustBundle");
    if (!["none", "optional", "required"].includes(i.enforcement)) throw new IntentError(`enforcement "${i.enforcement}" is unknown`);
  }

  private bundleFrom(i: Intent): NonNullable<Material["bundle"]> {
    const tb = i.trustBundle!;
    if (typeof tb.pem !== "string") throw new IntentError("trustBundle.pem is missing");
    const certs = validateBundle(tb.pem, `trust bundle of generation ${i.generation}`);
    const sha = sha256Hex(tb.pem);
    if (tb.sha256 && tb.sha256.toLowerCase() !== sha) throw new IntentError(`trust bundle of generation ${i.generation}: sha256 ${tb.sha256} does not match its content (${sha})`);
    return { pem: tb.pem, sha256: sha, earliestNotAfter: earliest(certs) };
  }

  /** Where a path of the pod's filesystem is here (--root; "/" in a container). */
  private local(path: string): string {
    return this.cfg.root === "/" ? path : join(this.cfg.root, path);
  }

  private async identityFor(i: Intent): Promise<Material["identity"] | undefined> {
    const id = i.identity;
    if (!id) return undefined;
    if (id.source === "userProvided") {
      const dir = this.local(id.mountPath);
      const certPem = await fsp.readFile(join(dir, "tls.crt"), "utf8").catch((e: Error) => {
        throw new IntentError(`user-provided identity: cannot read ${join(dir, "tls.crt")}: ${e.message}`);
      });
      const keyPem = await fsp.readFile(join(dir, "tls.key"), "utf8").catch((e: Error) => {
        throw new IntentError(`user-provided identity: cannot read ${join(dir, "tls.key")}: ${e.message}`);
      });
      const leaf = validateCertificate(certPem, `user-provided certificate ${join(dir, "tls.crt")}`);
      validateKeyPair(leaf, keyPem, `user-provided key ${join(dir, "tls.key")}`);
      const sha = sha256Hex(certPem);
      if (this.material.identity?.sha256 === sha && this.material.identity.keyPem === keyPem) return this.material.identity;
      return { certPem, keyPem, leaf, sha256: sha, writtenAt: Date.now() };
    }
    if (id.source !== "managed") throw new IntentError(`identity source "${(id as { source: string }).source}" is unknown`);
    const cur = this.material.identity;
    if (cur && !this.forceRenew && this.reusable(cur, id)) {
      cur.renewAt ??= renewalTime(cur.leaf.notBefore, cur.leaf.notAfter, id.renewAtFraction);
      if (cur.renewAt.getTime() > Date.now()) return cur;
    }
    return this.issue(i, id);
  }

  private reusable(cur: NonNullable<Material["identity"]>, id: ManagedIdentity): boolean {
    return subjectMatches(cur.leaf, id.subject) && keyAlgorithmOf(cur.leaf) === id.keyAlgorithm && cur.leaf.notAfter.getTime() > Date.now();
  }

  /** A new key, a CSR, the controller's answer checked against that key. */
  private async issue(i: Intent, id: ManagedIdentity): Promise<NonNullable<Material["identity"]>> {
    const key = await generateKey(id.keyAlgorithm);
    const csr = await createCsr(key, id.subject);
    let res: CertificateResponse | undefined;
    try {
      res = await this.client.postJson<CertificateResponse>(PATHS.certificate, { generation: i.generation, csr }, this.cfg.requestTimeoutMs);
    } catch (e) {
      this.metrics.renewals.inc({ result: "error" });
      throw new Error(`certificate request for generation ${i.generation}: ${errorMessage(e)}`);
    }
    try {
      if (!res || typeof res.certificate !== "string") throw new PemError("certificate response has no certificate");
      const leaf = validateCertificate(res.certificate, "certificate from the controller");
      validateKeyPair(leaf, key.pkcs8Pem, "certificate from the controller");
      if (!subjectMatches(leaf, id.subject)) throw new PemError(`certificate from the controller: subject "${leaf.subject}" is not the requested one`);
      const eku = leaf.getExtension(x509.ExtendedKeyUsageExtension);
      if (eku && !eku.usages.includes(CLIENT_AUTH_OID)) throw new PemError("certificate from the controller: extended key usage lacks clientAuth");
      let certPem = leaf.toString("pem") + "\n";
      if (res.chain && res.chain.trim()) {
        validateBundle(res.chain, "chain from the controller");
        certPem += res.chain.trim() + "\n";
      }
      this.metrics.renewals.inc({ result: "success" });
      this.forceRenew = false;
      logger.info("certificate issued", { subject: leaf.subject, notAfter: leaf.notAfter.toISOString(), serial: leaf.serialNumber });
      return {
        certPem,
        keyPem: key.pkcs8Pem,
        leaf,
        sha256: sha256Hex(certPem),
        renewAt: renewalTime(leaf.notBefore, leaf.notAfter, id.renewAtFraction),
        writtenAt: Date.now(),
      };
    } catch (e) {
      this.metrics.renewals.inc({ result: "refused" });
      throw e;
    }
  }

  private noteIdentity(id: NonNullable<Material["identity"]>): void {
    if (this.identityHistory.at(-1)?.sha256 === id.sha256) return;
    this.identityHistory.push({ sha256: id.sha256, writtenAt: id.writtenAt, notAfter: id.leaf.notAfter.getTime() });
    if (this.identityHistory.length > 10) this.identityHistory.shift();
  }

  private scheduleRenewal(): void {
    clearTimeout(this.renewTimer);
    const at = this.material.identity?.renewAt;
    if (!at || this.intent?.identity?.source !== "managed") return;
    const d = Math.max(0, at.getTime() - Date.now());
    // setTimeout caps at ~24.8 days; wake up earlier and re-check.
    this.renewTimer = setTimeout(() => this.kick(), Math.min(d, 2 ** 31 - 1));
  }

  private scheduleRetry(): void {
    if (this.stopping) return;
    clearTimeout(this.retryTimer);
    const d = retryDelay(this.retryAttempt++, new Date(), this.material.identity?.leaf.notAfter, { minMs: this.cfg.backoffMinMs, maxMs: this.cfg.backoffMaxMs });
    logger.info("retry scheduled", { delayMs: d });
    this.retryTimer = setTimeout(() => this.kick(), d);
  }

  // ---------- proof ----------

  private startProof(): void {
    clearTimeout(this.proofTimer);
    if (this.proofRunning || this.stopping) return;
    this.proofRunning = true;
    void this.proveLoop().finally(() => {
      this.proofRunning = false;
    });
  }

  private async proveLoop(): Promise<void> {
    for (;;) {
      const version = this.materialVersion;
      const deadline = Date.now() + this.cfg.proofTimeoutMs;
      let last: { ok: boolean; withCertificate: Proof["withCertificate"]; withoutCertificate: Proof["withoutCertificate"]; detail: string } | undefined;
      while (!this.stopping && version === this.materialVersion) {
        last = await this.proveOnce();
        if (last.ok || Date.now() >= deadline) break;
        await sleep(this.cfg.proofIntervalMs);
      }
      if (this.stopping) return;
      if (version !== this.materialVersion || !last) continue; // material changed meanwhile: prove the new one
      this.proof = { ...last, checkedAt: new Date().toISOString(), version };
      this.metrics.proofs.inc({ result: last.ok ? "success" : "failure" });
      if (last.ok) {
        this.provenNotAfter = this.materialNotAfter();
        logger.info("proof succeeded", { detail: last.detail, generation: this.appliedGeneration });
      } else {
        this.provenNotAfter = undefined;
        this.error("proof", last.detail);
        logger.warn("proof failed", { detail: last.detail, generation: this.appliedGeneration });
      }
      this.reporter.report();
      // Re-check later: a failed proof may succeed once the workload catches up, and a proven one may regress.
      this.proofTimer = setTimeout(() => this.startProof(), this.cfg.reproveIntervalMs);
      return;
    }
  }

  private async proveOnce(): Promise<{ ok: boolean; withCertificate: Proof["withCertificate"]; withoutCertificate: Proof["withoutCertificate"]; detail: string }> {
    const intent = this.intent;
    if (!intent) return { ok: false, withCertificate: "error", withoutCertificate: "error", detail: "no intent applied yet" };
    const ca = this.cfg.probeCaFile ? await fsp.readFile(this.local(this.cfg.probeCaFile), "utf8").catch(() => undefined) : undefined;
    const timeout = Math.min(5000, this.cfg.proofTimeoutMs);
    if (intent.role === "elasticsearch") {
      const id = this.material.identity;
      return proveElasticsearchOnce({
        url: this.cfg.probeUrl,
        ...(ca ? { ca } : {}),
        ...(id ? { cert: id.certPem, key: id.keyPem } : {}),
        enforcement: intent.enforcement,
        attemptTimeoutMs: timeout,
      });
    }
    // Kibana: which identity did the running process read at start?
    let st: Awaited<ReturnType<typeof kibanaStatus>>;
    try {
      st = await kibanaStatus(this.cfg.probeUrl, ca, timeout);
    } catch (e) {
      return { ok: false, withCertificate: "error", withoutCertificate: "error", detail: errorMessage(e) };
    }
    const current = this.material.identity;
    if (!intent.identity || !current) {
      this.restartRequired = false;
      return { ok: true, withCertificate: "error", withoutCertificate: "accepted", detail: `Kibana up (level ${st.level}); no client identity in the intent` };
    }
    const loaded = [...this.identityHistory].reverse().find((h) => h.writtenAt <= st.startedAt);
    this.restartRequired = loaded?.sha256 !== current.sha256;
    if (!loaded) {
      return { ok: false, withCertificate: "refused", withoutCertificate: "error", detail: `Kibana started at ${new Date(st.startedAt).toISOString()}, before any identity was written; it presents no or a foreign certificate and needs a restart` };
    }
    const valid = loaded.notAfter > Date.now();
    return {
      ok: valid,
      withCertificate: this.restartRequired ? "refused" : "accepted",
      withoutCertificate: "error",
      detail: this.restartRequired
        ? `Kibana (started ${new Date(st.startedAt).toISOString()}) presents an older identity${valid ? " that is still valid" : " that has expired"}; restart required`
        : `Kibana presents the current identity (level ${st.level})`,
    };
  }

  private materialNotAfter(): number | undefined {
    const t = [this.material.identity?.leaf.notAfter.getTime(), this.material.bundle?.earliestNotAfter.getTime()].filter((x): x is number => x !== undefined);
    return t.length ? Math.min(...t) : undefined;
  }

  // ---------- health and reports ----------

  readiness(): { ready: boolean; reason: string } {
    const now = Date.now();
    const m = this.material;
    if (!m.bundle && !m.identity) return { ready: false, reason: "no material on disk" };
    if (m.identity && m.identity.leaf.notAfter.getTime() <= now) return { ready: false, reason: `certificate on disk expired at ${m.identity.leaf.notAfter.toISOString()}` };
    if (m.bundle && m.bundle.earliestNotAfter.getTime() <= now) return { ready: false, reason: `a trust bundle certificate expired at ${m.bundle.earliestNotAfter.toISOString()}` };
    if (this.proof?.ok && this.proof.version === this.materialVersion) return { ready: true, reason: "ok: material on disk and proven loaded" };
    // Latched: while a new version is being proven, the previously proven (still unexpired) state keeps the pod ready.
    if (this.provenNotAfter !== undefined && this.provenNotAfter > now && (!this.proof || this.proof.ok)) return { ready: true, reason: "ok: previous material proven; proof of the current version pending" };
    return { ready: false, reason: this.proof ? `not proven: ${this.proof.detail}` : "not proven yet: waiting for the workload to load the material" };
  }

  private statusReport(): StatusReport {
    const id = this.material.identity;
    return {
      generation: this.appliedGeneration,
      ...(this.material.bundle ? { bundleSha256: this.material.bundle.sha256 } : {}),
      ...(id ? { certificate: { sha256: id.sha256, notAfter: id.leaf.notAfter.toISOString() } } : {}),
      ...(this.proof ? { proof: { checkedAt: this.proof.checkedAt, withCertificate: this.proof.withCertificate, withoutCertificate: this.proof.withoutCertificate, detail: this.proof.detail } } : {}),
      ...(this.intent?.role === "kibana" ? { restartRequired: this.restartRequired } : {}),
      ready: this.readiness().ready,
      errors: this.errors.slice(0, MAX_ERRORS),
    };
  }

  private statusJson(): unknown {
    const r = this.readiness();
    return {
      ...this.statusReport(),
      readyReason: r.reason,
      runtime: this.rt.name,
      role: this.cfg.role,
      phase: this.intent?.phase,
      enforcement: this.intent?.enforcement,
      streamConnected: this.connected,
      started: this.started,
      dir: this.writer?.dir,
      bundleEarliestNotAfter: this.material.bundle?.earliestNotAfter.toISOString(),
      certificateRenewAt: this.material.identity?.renewAt?.toISOString(),
      proofVersionCurrent: this.proof?.version === this.materialVersion,
    };
  }

  private error(what: string, detail: string): void {
    logger.error(`${what} error`, { detail });
    this.errors.unshift({ at: new Date().toISOString(), what, detail });
    if (this.errors.length > MAX_ERRORS) this.errors.length = MAX_ERRORS;
  }
}

function earliest(certs: x509.X509Certificate[]): Date {
  return new Date(Math.min(...certs.map((c) => c.notAfter.getTime())));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
