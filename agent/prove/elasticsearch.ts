// Proof that the local Elasticsearch really uses what is on disk: TLS handshakes to
// its HTTPS port on loopback. With the pod's client certificate the handshake and the
// first read must succeed (so the served trust includes our issuer); without a
// certificate they must fail exactly when the intent says `required`. ES picks up new
// files on a 5 s poll, hence the caller's retry loop with a deadline (proof-loop.ts).
import type { Enforcement, ProofResult } from "../../protocol/intent.ts";
import type { ProofAttempt } from "./attempt.ts";
import { tlsProbe } from "./tls-probe.ts";

interface EsProofInput {
  url: string;
  ca?: string;
  cert?: string; // the pod's identity, when it has one
  key?: string;
  enforcement: Enforcement;
  attemptTimeoutMs: number;
}

type EsProofResult = ProofAttempt;

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
