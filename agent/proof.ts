// Proof that the local workload really uses what is on disk.
//
// Elasticsearch: TLS handshakes to its HTTPS port on loopback. With the pod's client
// certificate the handshake and the first read must succeed (so the served trust
// includes our issuer); without a certificate they must fail exactly when the intent
// says `required`. A TLS 1.3 server reports a missing certificate only on the client's
// first read, so a probe counts as accepted only once response bytes arrive. ES picks
// up new files on a 5 s poll, hence the retry loop with a deadline.
//
// Kibana: it reads its client certificate only at start, so the proof is its start
// time (now − uptime from /api/status) compared with when each identity was written.
import * as tls from "node:tls";
import * as http from "node:http";
import * as https from "node:https";
import type { Enforcement, ProofResult } from "../protocol/intent.ts";

export interface TlsProbeOptions {
  host: string;
  port: number;
  servername?: string;
  ca?: string; // verify the server against this; unset = loopback, not verified
  cert?: string;
  key?: string;
  timeoutMs: number;
}

export interface ProbeOutcome {
  result: ProofResult;
  detail: string;
}

const REFUSAL = /alert|certificate|handshake|ECONNRESET|socket hang up|EPIPE|closed|eof/i;

/** One handshake plus one HTTP request; accepted only if response bytes come back. */
export function tlsProbe(o: TlsProbeOptions): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    let settled = false;
    let got = 0;
    let handshook = false;
    const finish = (r: ProbeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const sock = tls.connect({
      host: o.host,
      port: o.port,
      servername: o.servername ?? (/^[\d.:]+$/.test(o.host) ? undefined : o.host),
      rejectUnauthorized: o.ca !== undefined,
      ...(o.ca ? { ca: o.ca } : {}),
      ...(o.cert && o.key ? { cert: o.cert, key: o.key } : {}),
    } as tls.ConnectionOptions, () => {
      handshook = true;
      sock.write(`GET / HTTP/1.1\r\nHost: ${o.host}\r\nConnection: close\r\n\r\n`);
    });
    const timer = setTimeout(() => finish({ result: "error", detail: `no answer within ${o.timeoutMs} ms` }), o.timeoutMs);
    sock.on("data", (b: Buffer) => {
      got += b.length;
      finish({ result: "accepted", detail: "handshake and first read succeeded" });
    });
    sock.on("error", (e: NodeJS.ErrnoException) => {
      const msg = e.message || String(e.code);
      if (e.code === "ECONNREFUSED" || e.code === "EHOSTUNREACH") finish({ result: "error", detail: `workload not reachable: ${msg}` });
      else if (REFUSAL.test(msg) || REFUSAL.test(String(e.code))) finish({ result: "refused", detail: `${handshook ? "first read" : "handshake"} failed: ${msg}` });
      else finish({ result: "error", detail: msg });
    });
    sock.on("close", () => {
      if (got === 0) finish({ result: "refused", detail: `connection closed ${handshook ? "before the first response byte" : "during the handshake"}` });
    });
  });
}

export interface EsProofInput {
  url: string;
  ca?: string;
  cert?: string; // the pod's identity, when it has one
  key?: string;
  enforcement: Enforcement;
  attemptTimeoutMs: number;
}

export interface EsProofResult {
  ok: boolean;
  withCertificate: ProofResult;
  withoutCertificate: ProofResult;
  detail: string;
}

function target(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ""), port: Number(u.port || (u.protocol === "https:" ? 443 : 80)) };
}

/** A single round of both handshakes, judged against the intent's enforcement. */
export async function proveElasticsearchOnce(i: EsProofInput): Promise<EsProofResult> {
  const t = target(i.url);
  const base = { ...t, timeoutMs: i.attemptTimeoutMs, ...(i.ca ? { ca: i.ca } : {}) };
  const withCert = i.cert && i.key ? await tlsProbe({ ...base, cert: i.cert, key: i.key }) : undefined;
  const without = await tlsProbe(base);
  const expectWithout: ProofResult = i.enforcement === "required" ? "refused" : "accepted";
  const problems: string[] = [];
  if (withCert && withCert.result !== "accepted") problems.push(`with the pod certificate: ${withCert.result} (${withCert.detail})`);
  if (without.result !== expectWithout) {
    problems.push(`without a certificate: ${without.result}, expected ${expectWithout} for enforcement "${i.enforcement}" (${without.detail})`);
  }
  return {
    ok: problems.length === 0,
    withCertificate: withCert?.result ?? "error",
    withoutCertificate: without.result,
    detail: problems.length ? problems.join("; ") : `enforcement "${i.enforcement}" confirmed${withCert ? ", pod certificate accepted" : " (no pod certificate to present)"}`,
  };
}

export interface KibanaStatus {
  startedAt: number; // epoch ms
  level: string;
}

/** Reads Kibana's /api/status and derives its process start time. */
export function kibanaStatus(url: string, ca: string | undefined, timeoutMs: number): Promise<KibanaStatus> {
  return new Promise((resolve, reject) => {
    const u = new URL("/api/status", url);
    const mod = u.protocol === "https:" ? https : http;
    const req = mod.get(u, { timeout: timeoutMs, ...(u.protocol === "https:" ? { rejectUnauthorized: ca !== undefined, ...(ca ? { ca } : {}) } : {}) }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (c: string) => {
        if (body.length < 1 << 20) body += c;
      });
      res.on("end", () => {
        try {
          const j = JSON.parse(body) as { status?: { overall?: { level?: string } }; metrics?: { process?: { uptime_in_millis?: number } } };
          const up = j.metrics?.process?.uptime_in_millis;
          if (typeof up !== "number") return reject(new Error(`Kibana /api/status (HTTP ${res.statusCode}) has no metrics.process.uptime_in_millis; is status.allowAnonymous set or the agent authenticated?`));
          resolve({ startedAt: Date.now() - up, level: j.status?.overall?.level ?? "unknown" });
        } catch (e) {
          reject(new Error(`Kibana /api/status: unparseable answer (HTTP ${res.statusCode}): ${(e as Error).message}`));
        }
      });
    });
    req.on("timeout", () => req.destroy(new Error(`Kibana /api/status: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}
