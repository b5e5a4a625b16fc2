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

/** Parses the injection annotation; undefined when absent or not ours. */
export function injectionRecord(pod: V1Pod): InjectionRecord | undefined {
  const raw = pod.metadata?.annotations?.[INJECTED_ANNOTATION];
  if (raw === undefined) return undefined;
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
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  return names.includes(AGENT_CONTAINER) || names.includes(AGENT_INIT_CONTAINER);
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
