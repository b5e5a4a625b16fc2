// Pods a restart would not give the agent (opted out, ECK's own mount at the agent's path, no
// StatefulSet/ReplicaSet to re-create them): the rollout leaves them alone (gate/rollout.ts), and
// this says so once, as the condition `PodsInjectable` and one Warning Event per cause.
//
// How they count for the phase gate: a Kibana or an Elasticsearch pod left out of a disabled
// feature changes nothing. An Elasticsearch pod without the agent can never prove `required`, so a
// cluster that has one never becomes Enabled: it stays Enabling (Ready=False, naming the pod), and
// this condition gives the reason; the other pods are restarted as usual meanwhile. Switching off,
// such a pod never had es-mtls's `required` and has no agent to prove anything, so it does not hold
// up Disabled (otherwise "disable, then uninstall" could never finish).
import type { V1Pod } from "@kubernetes/client-node";
import type { Condition, Elasticsearch } from "../resources.ts";
import { NOT_INJECTABLE_CAUSES, notInjectable, type NotInjectableCause } from "../policy/uninjected.ts";
import { hasInjectionRecord } from "../policy/injection-record.ts";
import { EventBatch, aggregateMessage } from "../kube/events.ts";
import { cond } from "../status/conditions.ts";
import { esTarget } from "./event-targets.ts";
import type { EventSink } from "./deps.ts";
import type { PodView } from "./view.ts";

interface NotInjectablePod {
  pod: V1Pod;
  role: PodView["role"];
  cause: NotInjectableCause;
}

/** The pods that lack what injection gives and will not get it from a restart; an injected pod is fine whatever its owner. */
export function notInjectablePods(pods: PodView[]): NotInjectablePod[] {
  return pods.flatMap((p) => {
    if (hasInjectionRecord(p.pod) || p.pod.metadata?.deletionTimestamp) return [];
    const cause = notInjectable(p.pod, p.role);
    return cause ? [{ pod: p.pod, role: p.role, cause }] : [];
  });
}

/** The Elasticsearch pods the phase gate waits for: while Disabling, not those es-mtls never configured. */
export function gatedEsPods(esPods: PodView[], phase: string): PodView[] {
  if (phase !== "Disabling") return esPods;
  // Deliberately left out only: a pod without a controller may still carry an agent that proves.
  const left = new Set(notInjectablePods(esPods).filter((f) => f.cause !== "NoController").map((f) => f.pod));
  return esPods.filter((p) => !left.has(p.pod));
}

export function notInjectableCondition(found: NotInjectablePod[]): Condition {
  if (found.length === 0) return cond("PodsInjectable", "True", "AllInjectable", "every pod without the agent gets it when restarted");
  const parts = groups(found).map(([cause, names]) => aggregateMessage(NOT_INJECTABLE_CAUSES[cause], names));
  const es = found.filter((f) => f.role === "elasticsearch").map((f) => f.pod.metadata!.name!);
  const gate = es.length > 0 ? `; Elasticsearch pod(s) ${es.join(", ")} can never prove client certificates are required, so the cluster cannot become Enabled` : "";
  return cond("PodsInjectable", "False", "PodsNotInjectable", `never restarted by es-mtls: ${parts.join("; ")}${gate}`);
}

/** One Warning Event per cause on the Elasticsearch (deduplicated by cause, so a resync repeats nothing). */
export async function reportNotInjectable(es: Elasticsearch, found: NotInjectablePod[], events: EventSink): Promise<void> {
  if (found.length === 0) return;
  const batch = new EventBatch(events);
  for (const f of found) batch.add(esTarget(es), "Warning", "PodsNotInjectable", `${NOT_INJECTABLE_CAUSES[f.cause]}, never restarted by es-mtls`, f.pod.metadata!.name!);
  await batch.flush();
}

function groups(found: NotInjectablePod[]): Array<[NotInjectableCause, string[]]> {
  const by = new Map<NotInjectableCause, string[]>();
  for (const f of found) by.set(f.cause, [...(by.get(f.cause) ?? []), f.pod.metadata!.name!].sort());
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
}
