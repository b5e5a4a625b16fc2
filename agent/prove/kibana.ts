// Proof that the local Kibana presents the identity on disk. Kibana reads its client
// certificate only at start, so the proof is its start time (now − uptime from
// /api/status) compared with when each identity was written: the newest identity
// written before the start is the one it presents. Hence the history kept here.
import type { Intent } from "../../protocol/intent.ts";
import { WorkloadError } from "../errors.ts";
import { errorMessage } from "../log.ts";
import type { PodIdentity } from "../material/material.ts";
import type { ProofAttempt } from "./attempt.ts";

interface KibanaStatus {
  startedAt: number; // epoch ms
  level: string;
}

/** Reads Kibana's /api/status and derives its process start time. */
export async function kibanaStatus(url: string, ca: string | undefined, timeoutMs: number): Promise<KibanaStatus> {
  const u = new URL("/api/status", url);
  // Loaded on first use, so an Elasticsearch pod's agent never loads node:http (issue 21: its
  // memory is paid in every pod); the import graph test checks main.ts reaches neither statically.
  const mod = u.protocol === "https:" ? await import("node:https") : await import("node:http");
  return new Promise((resolve, reject) => {
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
          if (typeof up !== "number") return reject(new WorkloadError(`Kibana /api/status (HTTP ${res.statusCode}) has no metrics.process.uptime_in_millis; is status.allowAnonymous set or the agent authenticated?`));
          resolve({ startedAt: Date.now() - up, level: j.status?.overall?.level ?? "unknown" });
        } catch (e) {
          reject(new WorkloadError(`Kibana /api/status: unparseable answer (HTTP ${res.statusCode}): ${errorMessage(e)}`, { cause: e }));
        }
      });
    });
    req.on("timeout", () => req.destroy(new WorkloadError(`Kibana /api/status: no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

const HISTORY = 10;

/** Which identity the running Kibana read at start, judged from the identities written so far. */
export class KibanaProof {
  private readonly history: Array<{ sha256: string; writtenAt: number; notAfter: number }> = [];
  /** The running process presents an older identity than the one on disk. */
  restartRequired = false;

  /** An identity reached the disk; `replaced`: it took the place of another (Kibana cannot have read it yet). */
  noteIdentity(id: PodIdentity, replaced: boolean): void {
    if (replaced) this.restartRequired = true;
    if (this.history.at(-1)?.sha256 === id.sha256) return;
    this.history.push({ sha256: id.sha256, writtenAt: id.writtenAt, notAfter: id.leaf.notAfter.getTime() });
    if (this.history.length > HISTORY) this.history.shift();
  }

  judge(st: KibanaStatus, intent: Intent, current: PodIdentity | undefined): ProofAttempt {
    if (!intent.identity || !current) {
      this.restartRequired = false;
      return { ok: true, withCertificate: "error", withoutCertificate: "accepted", detail: `Kibana up (level ${st.level}); no client identity in the intent` };
    }
    const loaded = [...this.history].reverse().find((h) => h.writtenAt <= st.startedAt);
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
}
