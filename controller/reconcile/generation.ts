// Step: the cluster-wide intent generation, bumped whenever the content every pod's intent derives
// from changes, and persisted before any agent sees it: in the status, or, on the active path, first
// as a reservation on the trust-bundle Secret, a small write, so the status (one entry per pod: at
// 1,100 pods a write the apiserver spends 0.3–1 s on, issue 21) can follow the agents instead of
// holding them up.
import type { V1Secret } from "@kubernetes/client-node";
import type { Phase } from "../../protocol/intent.ts";
import type { ClientAuthenticationStatus } from "../resources.ts";
import { INTENT_GENERATION_RESERVED_ANNOTATION, trustBundleSecretName } from "../names.ts";
import { sha256Hex } from "../../common/digest.ts";
import type { KibanaIdentity } from "./kibana.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

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

/** What this process last handed to a cluster's agents (ClusterMemory), before its status said so. */
export interface Published {
  generation: number;
  hash: string;
}

/**
 * A reservation further above the status than this is not one es-mtls wrote (a tenant can edit the
 * Secret): it is believed only up to here, so it can move a new leader's generations on by at most this.
 */
export const MAX_RESERVATION_LEAD = 1024;

/** The generation reserved on the cluster's trust-bundle Secret; undefined when it carries none (or not a number). */
export function reservedGeneration(c: Pick<ClusterView, "name" | "prevStatus" | "managedSecret">): number | undefined {
  return parseReservation(c.managedSecret(trustBundleSecretName(c.name)), c.prevStatus.intentGeneration ?? 0);
}

export function parseReservation(secret: V1Secret | undefined, statusGeneration: number): number | undefined {
  const v = secret?.metadata?.annotations?.[INTENT_GENERATION_RESERVED_ANNOTATION];
  if (v === undefined || !/^\d{1,15}$/.test(v)) return undefined;
  return Math.min(Number(v), statusGeneration + MAX_RESERVATION_LEAD);
}

/**
 * The generation of intents with content `hash`: never one that may have gone out with other
 * content. This process knows what it published (`published`); a new leader does not, and takes
 * every reserved generation as handed out (its status may not have been written).
 */
export function nextGeneration(prev: Partial<ClientAuthenticationStatus>, hash: string, seen: { published?: Published; reserved?: number } = {}): number {
  const persisted = prev.intentGeneration ?? 0;
  const { published, reserved } = seen;
  if (published && published.generation >= persisted) return published.hash === hash ? published.generation : published.generation + 1;
  const top = Math.max(persisted, reserved ?? 0);
  if (top === persisted && prev.intentHash === hash) return prev.intentGeneration ?? 1;
  return top + 1;
}

/**
 * Persists `generation` before any agent sees it, unless the status or a reservation already holds
 * it: a merge patch of one annotation on the trust-bundle Secret (written earlier in the reconcile).
 */
export async function reserveGeneration(c: Pick<ClusterView, "name" | "namespace" | "prevStatus" | "managedSecret">, generation: number, d: Pick<ReconcilerDeps, "writer">): Promise<void> {
  if (generation <= (c.prevStatus.intentGeneration ?? 0) || generation <= (reservedGeneration(c) ?? 0)) return;
  await d.writer.mergePatch({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: trustBundleSecretName(c.name), namespace: c.namespace, annotations: { [INTENT_GENERATION_RESERVED_ANNOTATION]: String(generation) } },
  });
}
