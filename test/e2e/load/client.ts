// An independent load client (issue 10 item 4): the official @elastic/elasticsearch client,
// configured as a user would configure it (the HTTP CA, a client certificate, basic auth), sending
// `info()` continuously to the Ready ES pods, round-robin over the pods Ready at send time as a
// Service would route them. Each identity runs its own loop; every request is recorded with the
// phase read at send time, and classified later (classify.ts), once pods' fates are known.
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { x509 } from "../../../common/x509.ts";
import { PASSWORD } from "../lifecycle/cluster.ts";
import type { PhaseView, PodView, Target } from "./views.ts";

export interface ClientCert {
  cert: string;
  key: string;
}

export interface Identity {
  name: string;
  /** "correct": must never be refused; "negative": no certificate, refused exactly while required. */
  kind: "correct" | "negative";
  /**
   * The certificate to present now; null = present none (the negative client, or Kibana before its
   * agent was injected); undefined = no identity yet: the client does not send.
   */
  cert: () => ClientCert | null | undefined;
}

/** What a request ended in, before classification: the client's own view. */
export type Raw = "ok" | "401" | "403" | "reset" | "refused" | "timeout" | "other";

export interface RequestRecord {
  identity: string;
  transition: string;
  phase: string;
  pod: Target;
  sentAt: number;
  endAt: number;
  raw: Raw;
  detail?: string;
  /** Serial of the certificate presented, when one was. */
  serial?: string;
}

const serials = new WeakMap<ClientCert, string>();
/** The serial of a client certificate, parsed once per identity object. */
function serialOf(c: ClientCert): string {
  let s = serials.get(c);
  if (s === undefined) {
    s = new x509.X509Certificate(c.cert).serialNumber;
    serials.set(c, s);
  }
  return s;
}

export class LoadClient {
  readonly records: RequestRecord[] = [];
  /** Label of the transition under way, set by the test; recorded with each request. */
  transition = "baseline";
  private running = true;
  private readonly loops: Promise<void>[] = [];
  private readonly clients = new Map<string, { client: Client; cert: ClientCert | null }>();

  constructor(
    private readonly pods: PodView,
    private readonly phase: PhaseView,
    private readonly httpCaPem: string,
    /** Pause between two requests of one identity: ~15 req/s each, light on two shared cores. */
    private readonly paceMs = 60,
  ) {}

  start(identities: Identity[]): void {
    for (const id of identities) this.loops.push(this.run(id));
  }

  count(identity: string, phase: string, transition = this.transition): number {
    return this.records.filter((r) => r.identity === identity && r.phase === phase && r.transition === transition).length;
  }

  private async run(id: Identity): Promise<void> {
    let next = 0;
    while (this.running) {
      const targets = this.pods.ready();
      const cert = id.cert();
      if (targets.length && cert !== undefined) {
        const pod = targets[next++ % targets.length]!;
        const phase = this.phase.phase;
        const sentAt = Date.now();
        const [raw, detail] = await this.send(id, pod, cert);
        this.records.push({ identity: id.name, transition: this.transition, phase, pod, sentAt, endAt: Date.now(), raw, ...(detail ? { detail } : {}), ...(cert ? { serial: serialOf(cert) } : {}) });
      }
      await new Promise((r) => setTimeout(r, this.paceMs)); // pacing of the load, not a wait for a condition
    }
  }

  /** One client per identity and pod, rebuilt when the identity's certificate changes. */
  private clientFor(id: Identity, pod: Target, cert: ClientCert | null): Client {
    const key = `${id.name}/${pod.uid}`;
    const have = this.clients.get(key);
    if (have && have.cert === cert) return have.client;
    void have?.client.close();
    const client = new Client({
      node: `https://${pod.ip}:9200`,
      Connection: HttpConnection, // undici's default connection fails on Bun
      // A new connection (TLS handshake) per request, so every request is judged by the server's
      // current client_authentication, not carried over on a kept-alive socket.
      agent: { keepAlive: false },
      // ECK's HTTP certificate names Services, not pod addresses: verify the CA, not the host name.
      tls: { ca: this.httpCaPem, ...(cert ?? {}), checkServerIdentity: () => undefined },
      auth: { username: "elastic", password: PASSWORD },
      maxRetries: 0, // count every failure; a retry would hide it
      requestTimeout: 5000,
    });
    this.clients.set(key, { client, cert });
    return client;
  }

  private async send(id: Identity, pod: Target, cert: ClientCert | null): Promise<[Raw, string?]> {
    try {
      await this.clientFor(id, pod, cert).info();
      return ["ok"];
    } catch (e) {
      const err = e as Error & { meta?: { statusCode?: number } };
      const status = err.meta?.statusCode;
      if (status === 401 || status === 403) return [String(status) as Raw, err.message.split("\n")[0]];
      if (err.name === "TimeoutError") return ["timeout", err.message];
      if (err.name === "ConnectionError") {
        // A server that refuses a client certificate (or its absence) drops the connection after
        // the handshake: "socket hang up" / ECONNRESET. Nothing listening: ECONNREFUSED.
        if (/ECONNREFUSED/.test(err.message)) return ["refused", err.message];
        return ["reset", err.message];
      }
      return ["other", `${err.name}: ${err.message.split("\n")[0]}`];
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all([...this.clients.values()].map((c) => c.client.close().catch(() => {})));
  }
}
