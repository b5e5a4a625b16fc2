// One TLS probe of the local workload: a handshake plus one HTTP request. A TLS 1.3
// server reports a missing or refused client certificate only on the client's first
// read, so a probe counts as accepted only once response bytes arrive.
import * as tls from "node:tls";
import type { ProofResult } from "../../protocol/intent.ts";

interface TlsProbeOptions {
  host: string;
  port: number;
  servername?: string;
  ca?: string; // verify the server against this; unset = loopback, not verified
  cert?: string;
  key?: string;
  timeoutMs: number;
}

interface ProbeOutcome {
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
