// What makes an intent acceptable to this agent, checked before anything touches the
// disk. Every failure is an IntentRefused or a PemError: a verdict on the intent's
// content, so the same intent is never retried.
import type { Intent } from "../../protocol/intent.ts";
import { sha256Hex } from "../../common/digest.ts";
import { IntentRefused } from "../errors.ts";
import { errorMessage } from "../log.ts";
import { earliestNotAfter, type BundleMaterial } from "../material/material.ts";
import { validBundlePart, type BundleMemo } from "../material/pem.ts";
import { checkName } from "../write/atomic-writer.ts";

interface IntentLimits {
  role: Intent["role"];
  /** The configured output directory (--dir), when one is fixed. */
  dir?: string;
}

export function checkIntent(i: Intent, own: IntentLimits): void {
  if (i.role !== own.role) throw new IntentRefused(`role "${i.role}" does not match this agent's role "${own.role}"`);
  const f = i.files;
  if (!f || typeof f.dir !== "string" || !f.dir.startsWith("/")) throw new IntentRefused(`files.dir "${f?.dir}" is not an absolute path`);
  if (own.dir && f.dir !== own.dir) throw new IntentRefused(`files.dir "${f.dir}" is not the configured directory "${own.dir}"`);
  for (const n of [f.bundle, f.certificate, f.key]) {
    try {
      checkName(n);
    } catch (e) {
      throw new IntentRefused(errorMessage(e), { cause: e });
    }
  }
  if (!Number.isInteger(f.mode) || f.mode < 0 || f.mode > 0o777) throw new IntentRefused(`files.mode ${f.mode} is not a file mode`);
  if (i.role === "elasticsearch" && !i.trustBundle) throw new IntentRefused("an elasticsearch intent must carry a trustBundle");
  if (!["none", "optional", "required"].includes(i.enforcement)) throw new IntentRefused(`enforcement "${i.enforcement}" is unknown`);
}

/**
 * The intent's trust bundle, validated and hashed, minus its expired entries (issue 8: the
 * controller drops them too, but only on its next reconcile); undefined when it carries none (Kibana).
 * `memo`: the certificates of the last bundle checked with it are not parsed again.
 */
export function bundleOf(i: Intent, now = new Date(), memo?: BundleMemo): BundleMaterial | undefined {
  const tb = i.trustBundle;
  if (!tb) return undefined;
  if (typeof tb.pem !== "string") throw new IntentRefused("trustBundle.pem is missing");
  const sha = sha256Hex(tb.pem);
  if (tb.sha256 && tb.sha256.toLowerCase() !== sha) throw new IntentRefused(`trust bundle of generation ${i.generation}: sha256 ${tb.sha256} does not match its content (${sha})`);
  const part = validBundlePart(tb.pem, `trust bundle of generation ${i.generation}`, now, memo);
  const base = { earliestNotAfter: earliestNotAfter(part.certs) };
  if (!part.dropped.length) return { ...base, pem: tb.pem, sha256: sha };
  return { ...base, pem: part.pem, sha256: sha256Hex(part.pem), intentSha256: sha, dropped: part.dropped };
}

/** The errors[] detail for dropped entries; bounded, as the controller caps each string at 4096. */
export function droppedDetail(generation: number, dropped: NonNullable<BundleMaterial["dropped"]>): string {
  const which = dropped.slice(0, 5).map((d) => `block ${d.block} "${d.subject.slice(0, 200)}" expired at ${d.notAfter.toISOString()}`);
  const more = dropped.length > 5 ? `; and ${dropped.length - 5} more` : "";
  return `generation ${generation}: ${dropped.length} expired certificate(s) left out of the trust bundle: ${which.join("; ")}${more}`;
}
