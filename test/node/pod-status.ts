// The pod status the node publishes: phase, addresses, container statuses and
// the conditions the controllers and Services read (PodScheduled,
// PodReadyToStartContainers, Initialized, ContainersReady, Ready). Conditions
// written by others (DisruptionTarget from the Eviction API, readiness gates)
// are kept as they are.
import type * as k8s from "@kubernetes/client-node";
import type { ContainerSupervisor } from "./container.ts";

export interface PodView {
  pod: k8s.V1Pod;
  podIP: string | undefined;
  hostIP: string;
  startTime: Date;
  phase: "Pending" | "Running" | "Succeeded" | "Failed";
  reason?: string;
  message?: string;
  sandboxReady: boolean;
  initialized: boolean;
  terminating: boolean;
  init: ContainerSupervisor[];
  main: ContainerSupervisor[];
}

const OWN = new Set(["PodScheduled", "PodReadyToStartContainers", "Initialized", "ContainersReady", "Ready"]);
const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

/** Remembers when each condition last changed, so lastTransitionTime moves only on a change. */
export class ConditionClock {
  private readonly seen = new Map<string, { status: string; at: string }>();

  condition(type: string, ok: boolean, reason?: string, message?: string): k8s.V1PodCondition {
    const status = ok ? "True" : "False";
    let s = this.seen.get(type);
    if (!s || s.status !== status) {
      s = { status, at: rfc3339(new Date()) };
      this.seen.set(type, s);
    }
    return { type, status, lastTransitionTime: s.at as unknown as Date, ...(reason ? { reason } : {}), ...(message ? { message } : {}) };
  }
}

export function podStatus(v: PodView, clock: ConditionClock): k8s.V1PodStatus {
  const current = v.pod.status?.conditions ?? [];
  const sidecars = v.init.filter((c) => c.kind === "sidecar");
  const notReady = [...v.main, ...sidecars].filter((c) => !c.ready).map((c) => c.name);
  const containersReady = !v.terminating && notReady.length === 0 && v.phase === "Running";
  const gates = (v.pod.spec?.readinessGates ?? []).map((g) => g.conditionType);
  const gatesOk = gates.every((g) => current.find((c) => c.type === g)?.status === "True");
  const unfinishedInit = v.init.filter((c) => (c.kind === "sidecar" ? !c.started : c.status().state?.terminated?.exitCode !== 0)).map((c) => c.name);
  const why = notReady.length ? `containers with unready status: [${notReady.join(" ")}]` : undefined;
  const conditions = [
    clock.condition("PodReadyToStartContainers", v.sandboxReady),
    clock.condition("Initialized", v.initialized, v.initialized ? undefined : "ContainersNotInitialized", v.initialized ? undefined : `containers with incomplete status: [${unfinishedInit.join(" ")}]`),
    clock.condition("Ready", containersReady && gatesOk, containersReady && gatesOk ? undefined : containersReady ? "ReadinessGatesNotReady" : "ContainersNotReady", why),
    clock.condition("ContainersReady", containersReady, containersReady ? undefined : "ContainersNotReady", why),
    clock.condition("PodScheduled", true),
    ...current.filter((c) => !OWN.has(c.type)),
  ];
  const ips = v.podIP ? { podIP: v.podIP, podIPs: [{ ip: v.podIP }] } : {};
  return {
    phase: v.phase,
    ...(v.reason ? { reason: v.reason } : {}),
    ...(v.message ? { message: v.message } : {}),
    conditions,
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    ...ips,
    startTime: rfc3339(v.startTime) as unknown as Date,
    initContainerStatuses: v.init.map((c) => c.status()),
    containerStatuses: v.main.map((c) => c.status()),
    ...(v.pod.status?.qosClass ? { qosClass: v.pod.status.qosClass } : {}),
  };
}
