// Step: the cluster-wide intent generation, bumped (and persisted before any agent sees it)
// whenever the content every pod's intent derives from changes.
import type { Phase } from "../../protocol/intent.ts";
import type { ClientAuthenticationStatus } from "../resources.ts";
import { sha256Hex } from "../../common/digest.ts";
import type { KibanaIdentity } from "./kibana.ts";

/**
 * Hash of what the intents derive from. Plain JSON.stringify, not canonical JSON, on purpose: the
 * input is built here in a fixed field order, and the hashes already persisted in status stay
 * valid, so an upgrade does not bump every cluster's generation.
 */
function contentHash(phase: Phase, bundleSha256: string, identities: KibanaIdentity[]): string {
  const input = { phase, bundle: bundleSha256, identities: identities.map((k) => (k.ok ? [k.kibana.metadata.uid, k.identity] : [k.kibana.metadata.uid, "invalid"])) };
  return sha256Hex(JSON.stringify(input)).slice(0, 16);
}

/**
 * Hash of what the intents of phase `next` carry. Hashed with the phase the intents will carry: a
 * phase change is a content change, so a transition bumps the generation in the same reconcile that
 * publishes it. Disabled carries only retired intents: hashed as stand-down.ts hashes them, so the
 * resyncs after the transition find the same generation and write nothing.
 */
export function intentsHash(next: Phase, bundleSha256: string, identities: KibanaIdentity[]): string {
  return next === "Disabled" ? retiredHash("Disabled") : contentHash(next, bundleSha256, identities);
}

/** Hash of a stood-down cluster's retired intents (no bundle, no identities: they carry inert material). */
export function retiredHash(phase: Phase): string {
  return contentHash(phase, "", []);
}

export function nextGeneration(prev: Partial<ClientAuthenticationStatus>, hash: string): number {
  return prev.intentHash === hash ? (prev.intentGeneration ?? 1) : (prev.intentGeneration ?? 0) + 1;
}
