// /readyz reflects this pod only (issue 8): there is material on disk, this pod's own leaf (when it
// has one) is unexpired, the newest intent is on disk, and the workload is proven to have loaded
// it. The trust bundle's entries never count: they are other people's certificates (a user's leaf,
// a user CA) and the cluster's client CA(s), whose expiry is the controller's to handle (it rotates
// the CA ahead of time and drops expired entries); the intent does not say which entries are this
// pod's own anchors, and one user's certificate expiring must not take every ES pod out of its
// Service. Expired bundle entries are dropped when the intent is applied (intent/check.ts).
// A latch keeps a proven pod ready while a newer version is being proven (the previous material is
// what the workload serves meanwhile) until its leaf expires; a failed proof releases it.
import { isExpired } from "../../common/pem.ts";
import type { Material } from "../material/material.ts";
import type { ProofRecord } from "../prove/proof-loop.ts";

export interface Verdict {
  ready: boolean;
  reason: string;
}

interface ReadinessInput {
  material: Material;
  materialVersion: number;
  proof: ProofRecord | undefined;
  /** The newest intent could not be written (read-only or full volume): the disk holds stale material. */
  unwritten?: { generation: number; detail: string };
}

export class Readiness {
  /** Latch: the last proven material stays good until it expires. */
  private provenNotAfter: number | undefined;

  noteProof(p: ProofRecord, material: Material): void {
    this.provenNotAfter = p.ok ? (material.identity?.leaf.notAfter.getTime() ?? Infinity) : undefined;
  }

  evaluate(s: ReadinessInput, now = Date.now()): Verdict {
    const m = s.material;
    if (!m.bundle && !m.identity) return { ready: false, reason: "no material on disk" };
    if (m.identity && isExpired(m.identity.leaf.notAfter, new Date(now))) return { ready: false, reason: `certificate on disk expired at ${m.identity.leaf.notAfter.toISOString()}` };
    if (s.unwritten) return { ready: false, reason: `generation ${s.unwritten.generation} is not on disk: ${s.unwritten.detail}` };
    if (s.proof?.ok && s.proof.version === s.materialVersion) return { ready: true, reason: "ok: material on disk and proven loaded" };
    if (this.provenNotAfter !== undefined && this.provenNotAfter > now && (!s.proof || s.proof.ok)) return { ready: true, reason: "ok: previous material proven; proof of the current version pending" };
    return { ready: false, reason: s.proof ? `not proven: ${s.proof.detail}` : "not proven yet: waiting for the workload to load the material" };
  }
}
