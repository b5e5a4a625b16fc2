// The agent's state as the controller (POST /v1/status) and an operator (/status)
// see it, and the bounded list of recent errors both carry. Pure formatting.
import type { Intent, StatusReport } from "../../protocol/intent.ts";
import { logger } from "../log.ts";
import type { Material } from "../material/material.ts";
import type { ProofRecord } from "../prove/proof-loop.ts";
import type { Verdict } from "./readiness.ts";

const MAX_ERRORS = 20;

/** Most recent first, bounded; every entry is logged as it comes. */
export class ErrorLog {
  private readonly items: StatusReport["errors"] = [];

  add(what: string, detail: string): void {
    logger.error(`${what} error`, { detail });
    this.items.unshift({ at: new Date().toISOString(), what, detail });
    if (this.items.length > MAX_ERRORS) this.items.length = MAX_ERRORS;
  }

  list(): StatusReport["errors"] {
    return this.items.slice(0, MAX_ERRORS);
  }
}

/** Everything the reports are made of, as the orchestrator holds it. */
export interface AgentState {
  generation: number;
  intent: Intent | undefined;
  /** A newer intent received but not on disk yet (its write failed). */
  unwrittenGeneration?: number;
  material: Material;
  materialVersion: number;
  proof: ProofRecord | undefined;
  restartRequired: boolean;
  readiness: Verdict;
  errors: StatusReport["errors"];
  connected: boolean;
  started: boolean;
  dir: string | undefined;
}

export function statusReport(s: AgentState): StatusReport {
  const id = s.material.identity;
  const b = s.material.bundle;
  const p = s.proof;
  return {
    generation: s.generation,
    // The intent's sha, so the controller sees the current intent applied even when expired entries were dropped (issue 8).
    ...(b ? { bundleSha256: b.intentSha256 ?? b.sha256 } : {}),
    ...(b?.intentSha256 ? { bundleOnDiskSha256: b.sha256 } : {}),
    ...(id ? { certificate: { sha256: id.sha256, notAfter: id.leaf.notAfter.toISOString() } } : {}),
    ...(p ? { proof: { checkedAt: p.checkedAt, withCertificate: p.withCertificate, withoutCertificate: p.withoutCertificate, detail: p.detail } } : {}),
    ...(s.intent?.role === "kibana" ? { restartRequired: s.restartRequired } : {}),
    ready: s.readiness.ready,
    errors: s.errors,
  };
}

/** /status: the report plus what an operator needs to see why. */
export function statusJson(s: AgentState, ctx: { runtime: string; role: string }): Record<string, unknown> {
  return {
    ...statusReport(s),
    readyReason: s.readiness.reason,
    runtime: ctx.runtime,
    role: ctx.role,
    phase: s.intent?.phase,
    unwrittenGeneration: s.unwrittenGeneration,
    enforcement: s.intent?.enforcement,
    streamConnected: s.connected,
    started: s.started,
    dir: s.dir,
    bundleEarliestNotAfter: s.material.bundle?.earliestNotAfter.toISOString(),
    bundleDropped: s.material.bundle?.dropped?.map((d) => ({ block: d.block, subject: d.subject, notAfter: d.notAfter.toISOString() })),
    certificateRenewAt: s.material.identity?.renewAt?.toISOString(),
    proofVersionCurrent: s.proof?.version === s.materialVersion,
  };
}
