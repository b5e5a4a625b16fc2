// The injection annotation: what the webhook did to a pod, recorded on the pod itself. Parsed
// here only, so the reconciler (what a pod enforces) and the webhook (already injected?) read it
// the same way.
import type { V1Pod } from "@kubernetes/client-node";
import type { Enforcement, Phase, Role } from "../../protocol/intent.ts";
import { AGENT_CONTAINER, AGENT_INIT_CONTAINER, INJECTED_ANNOTATION } from "../names.ts";
import { enforcementForNewPods } from "./phases.ts";

export type SidecarMode = "native" | "classic";

/** The value of the INJECTED_ANNOTATION (JSON). */
export interface InjectionRecord {
  version: number;
  sidecar: SidecarMode;
  role: Role;
  /** "<namespace>/<name>" of the Elasticsearch cluster. */
  cluster: string;
  phase: Phase;
  enforcement: Enforcement;
  /** Environment variables set on the workload container. */
  settings: Record<string, string>;
  /** The user's environment variables that named the same settings and were replaced. */
  overridden: string[];
  /** Why the pod's agent-resources annotation was not applied (the controller's were); absent when it was, or there was none. */
  agentResourcesIgnored?: string;
}

/**
 * The last parse of each pod object's annotation. The caches hold one object per pod
 * resourceVersion, and every reconcile read each pod's record again (8 % of the controller's CPU
 * with 1,100 pods, bench/propagation.ts). Checked against the annotation's text, so an object
 * changed in place is parsed again; weak, so a replaced pod's entry goes with it.
 */
const parsedByPod = new WeakMap<V1Pod, { raw: string; record: InjectionRecord | undefined }>();

/** Parses the injection annotation; undefined when absent or not ours. */
export function injectionRecord(pod: V1Pod): InjectionRecord | undefined {
  const raw = pod.metadata?.annotations?.[INJECTED_ANNOTATION];
  if (raw === undefined) return undefined;
  const cached = parsedByPod.get(pod);
  if (cached?.raw === raw) return cached.record;
  const record = parse(raw);
  parsedByPod.set(pod, { raw, record });
  return record;
}

function parse(raw: string): InjectionRecord | undefined {
  try {
    const parsed = JSON.parse(raw) as InjectionRecord;
    return typeof parsed === "object" && parsed !== null && typeof parsed.version === "number" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * True when the webhook configured this pod: its record AND the agent it adds are there. Narrower
 * than isInjected: a pod given an agent by hand was not configured by us, so the rollout still
 * restarts it; a record without the agent (copied into a pod template by hand) counts for nothing.
 */
export function hasInjectionRecord(pod: V1Pod): boolean {
  return !!pod.metadata?.annotations?.[INJECTED_ANNOTATION] && isInjected(pod);
}

/** The image of the pod's agent (sidecar or classic init container); undefined when it has none. */
export function agentImage(pod: V1Pod): string | undefined {
  return [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((c) => c.name === AGENT_CONTAINER || c.name === AGENT_INIT_CONTAINER)?.image;
}

/**
 * True when the pod really carries the agent (a container of that name), whatever its annotations
 * say: an annotation is text anyone who writes a pod template can set (issue 9 item 5).
 */
export function isInjected(pod: V1Pod): boolean {
  // No copies: read for every pod on every reconcile (bench/propagation.ts).
  const agent = (c: { name: string }) => c.name === AGENT_CONTAINER || c.name === AGENT_INIT_CONTAINER;
  return (pod.spec?.initContainers ?? []).some(agent) || (pod.spec?.containers ?? []).some(agent);
}

/**
 * What a pod's Elasticsearch enforces: fixed at pod creation by injection (a static setting), so
 * the pod's own record says it; a pod without one enforces what the phase prescribes for new pods.
 */
export function podEnforcement(pod: V1Pod, phase: Phase): Enforcement {
  const e = hasInjectionRecord(pod) ? injectionRecord(pod)?.enforcement : undefined;
  if (e === "none" || e === "optional" || e === "required") return e;
  return enforcementForNewPods(phase);
}
