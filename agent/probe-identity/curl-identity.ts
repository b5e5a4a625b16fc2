// The Elasticsearch pod's local probe identity (issue 8 item 2): probes and hooks that call
// Elasticsearch over HTTPS from inside its container (the official Helm chart's curl readiness
// probe) must keep passing once `required` holds, and the kubelet's exec runs them with the
// container's environment. Injection sets CURL_HOME to this identity's own folder, and curl reads
// `$CURL_HOME/.curlrc` before its arguments, so the chart's unchanged script presents a client
// certificate the cluster's bundle trusts.
//
// The identity is managed like the pod's others (key made here, CSR signed by the cluster's client
// CA, renewed at its fraction of the lifetime), under its own subject (CN es-mtls-probe), and lives
// apart from the agent's proof identity: its key has to be readable by the Elasticsearch container.
// Certificate chain and key are one file, and the set is published with the `..data` swap, so curl
// never pairs an old certificate with a new key. Failures are logged and retried; they never touch
// the agent's own readiness (a probe that fails says so itself).
import { join } from "node:path";
import type { Intent, ProbeIdentity } from "../../protocol/intent.ts";
import { IdentityError } from "../errors.ts";
import type { IdentitySource } from "../identity/provider.ts";
import { Alarm } from "../identity/alarm.ts";
import { errorMessage, logger } from "../log.ts";
import type { PodIdentity } from "../material/material.ts";
import { AtomicWriter, checkName } from "../write/atomic-writer.ts";
import { publishCurlrc } from "./curlrc.ts";

interface ProbeIdentityOptions {
  /** Maps a path of the pod's filesystem to where it is here (--root). */
  local(path: string): string;
  /** --file-mode, else the intent's. */
  fileMode?: number;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export class CurlProbeIdentity {
  private writer: AtomicWriter | undefined;
  private current: PodIdentity | undefined;
  private latest: Intent | undefined;
  private chain: Promise<void> = Promise.resolve();
  private attempt = 0;
  private stopped = false;
  private readonly alarm = new Alarm();

  constructor(private readonly identity: IdentitySource, private readonly o: ProbeIdentityOptions) {}

  /** Brings the probe folder in line with `i` (the newest applied intent); runs one at a time, never throws. */
  apply(i: Intent): Promise<void> {
    this.latest = i;
    this.chain = this.chain.then(() => this.run());
    return this.chain;
  }

  stop(): void {
    this.stopped = true;
    this.alarm.clear();
  }

  /** The identity on disk now (for tests and status). */
  get identityOnDisk(): PodIdentity | undefined {
    return this.current;
  }

  private async run(): Promise<void> {
    const i = this.latest;
    if (!i || this.stopped || i.role !== "elasticsearch") return;
    try {
      if (i.probe) await this.present(i, i.probe);
      else await this.withdraw(i);
      this.attempt = 0;
      const renewAt = i.probe ? this.current?.renewAt?.getTime() : undefined;
      this.alarm.at(renewAt, () => void this.apply(this.latest!));
    } catch (e) {
      const delay = Math.min(this.o.backoffMaxMs, this.o.backoffMinMs * 2 ** this.attempt++);
      logger.warn("probe identity not written; retrying", { error: errorMessage(e), delayMs: delay });
      this.alarm.at(Date.now() + delay, () => void this.apply(this.latest!));
    }
  }

  private async present(i: Intent, p: ProbeIdentity): Promise<void> {
    checkName(p.file);
    if (!p.dir.startsWith("/")) throw new IdentityError(`probe.dir "${p.dir}" is not an absolute path`);
    const writer = await this.writerFor(p.dir);
    const next = await this.identity.resolve({ ...i, identity: p.identity }, this.current);
    if (!next) throw new IdentityError("no probe identity was issued");
    const result = await publishCurlrc(writer, { certPath: join(p.dir, p.file), file: p.file, pem: next.certPem.trimEnd() + "\n" + next.keyPem.trimEnd() + "\n" }, this.mode(i));
    if (result === "written") logger.info("probe identity written", { dir: writer.dir, subject: next.leaf.subject, notAfter: next.leaf.notAfter.toISOString() });
    this.current = next;
  }

  /** No probe identity wanted (a retired intent): curl presents nothing, so no untrusted certificate is offered. */
  private async withdraw(i: Intent): Promise<void> {
    if (!this.writer) return;
    const result = await publishCurlrc(this.writer, undefined, this.mode(i));
    if (result === "written") logger.info("probe identity withdrawn", { dir: this.writer.dir });
    this.current = undefined;
  }

  /** The folder's writer; adopting a folder repairs what an interrupted write left (as the material's store does). */
  private async writerFor(dir: string): Promise<AtomicWriter> {
    const local = this.o.local(dir);
    if (this.writer?.dir === local) return this.writer;
    const w = new AtomicWriter(local);
    await w.recover();
    this.writer = w;
    return w;
  }

  private mode(i: Intent): number {
    return this.o.fileMode ?? i.files.mode;
  }
}
