// The transitions that happen by themselves, on the controller's clock: a client CA rotation and
// the renewal of every agent's leaf. Each is watched from the moment the test starts it (right
// after enabling) until it is complete, while the test runs its other transitions meanwhile;
// its window is that time span, over which the load must show no refusal.
import { x509 } from "../../../common/x509.ts";
import type { Lifecycle } from "../lifecycle/cluster.ts";
import type { ClientCert } from "./client.ts";
import { bundlesOnDisk, issuances, issuerAmong, sameCert, signedBy } from "./pki.ts";

const isCa = (c: x509.X509Certificate) => c.getExtension(x509.BasicConstraintsExtension)?.ca === true;

export interface Span {
  start: number;
  end: number;
}

/** Polls `check` until it returns true; resolves with when (epoch ms), rejects after `timeoutMs` with the last `why`. */
function watch(check: () => Promise<true | string>, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  return (async () => {
    let why = "";
    while (Date.now() < deadline) {
      const r = await check().catch((e: Error) => e.message);
      if (r === true) return Date.now();
      why = r;
      await new Promise((res) => setTimeout(res, 500)); // the poll period of the watch, not a wait for luck
    }
    throw new Error(`${what} not complete within ${timeoutMs} ms: ${why}`);
  })();
}

/**
 * A client CA rotation, from the CA signing the controller's identity when it starts (`old`):
 * complete once the controller's identity and Kibana's are signed by another CA and no ES pod's
 * bundle on disk trusts `old` any more. Notes when every ES pod trusted both (the overlap) and when
 * the new CA first signed what the load presents.
 */
export class RotationWatch {
  old: x509.X509Certificate | undefined;
  newCa: x509.X509Certificate | undefined;
  /** Every ES pod trusted `old` and a second CA at once. */
  overlapAt = 0;
  /** The controller's identity was first seen signed by the new CA. */
  newSigningAt = 0;
  readonly span: Span = { start: Date.now(), end: 0 };
  readonly done: Promise<number>;

  constructor(
    private readonly lc: Lifecycle,
    private readonly controllerCert: () => ClientCert | null | undefined,
    private readonly kibanaCert: () => ClientCert | null | undefined,
    timeoutMs: number,
  ) {
    this.done = watch(() => this.check(), timeoutMs, "client CA rotation").then((t) => (this.span.end = t));
    this.done.catch(() => {}); // awaited by the test; not an unhandled rejection meanwhile
  }

  private async check(): Promise<true | string> {
    const bundles = bundlesOnDisk(this.lc, (await this.lc.pods()).map((p) => p.metadata!.name!));
    const internal = this.controllerCert();
    if (!internal) return "no controller identity";
    if (!this.old) {
      this.old = await issuerAmong(internal.cert, [...bundles.values()][0] ?? []);
      return this.old ? "started" : "the controller identity's CA is not in the bundle";
    }
    const old = this.old;
    const all = [...bundles.values()];
    if (!this.overlapAt && all.every((b) => b.some((c) => sameCert(c, old)) && b.some((c) => isCa(c) && !sameCert(c, old)))) this.overlapAt = Date.now();
    const signer = await issuerAmong(internal.cert, all[0] ?? []);
    if (signer && !sameCert(signer, old) && !this.newSigningAt) {
      this.newSigningAt = Date.now();
      this.newCa = signer;
    }
    const problems: string[] = [];
    if (!this.newSigningAt) problems.push("the controller identity is not signed by a new CA yet");
    const kb = this.kibanaCert();
    if (!kb || (await signedBy(kb.cert, old))) problems.push("Kibana still presents a leaf of the old CA");
    const left = [...bundles].filter(([, b]) => b.some((c) => sameCert(c, old))).map(([p]) => p);
    if (left.length) problems.push(`old CA still trusted by ${left.join(", ")}`);
    return problems.length ? problems.join("; ") : true;
  }
}

/**
 * Leaf renewal of every agent: the pods at the start (name, UID) and the serial each agent last
 * reported issued; complete once each of them logged a new issuance with another serial. A pod
 * deleted meanwhile must have renewed before it went (a Kibana is restarted because it renewed).
 */
export class RenewalWatch {
  readonly span: Span = { start: Date.now(), end: 0 };
  readonly pods: Array<{ name: string; uid: string; serial: string | undefined }>;
  readonly done: Promise<number>;

  constructor(private readonly lc: Lifecycle, pods: Array<{ name: string; uid: string }>, timeoutMs: number) {
    this.pods = pods.map((p) => ({ ...p, serial: issuances(lc, p.uid).at(-1)?.serial }));
    this.done = watch(async () => {
      const stale = this.stale();
      return stale.length ? `not renewed yet: ${stale.join(", ")}` : true;
    }, timeoutMs, "renewal of every agent").then((t) => (this.span.end = t));
    this.done.catch(() => {});
  }

  /** Pods whose agent has not reported a new serial since the start. */
  stale(): string[] {
    return this.pods.filter((p) => !issuances(this.lc, p.uid).some((i) => i.at >= this.span.start && i.serial !== p.serial)).map((p) => p.name);
  }
}
