// Pods of an mTLS cluster that run without the agent: created while the injection webhook was
// unreachable (failurePolicy Ignore), or before the cluster's mode was known. Such a pod serves
// without client-certificate enforcement (ES) or without its certificate (Kibana), so the controller
// reports it (Event + condition) and may restart it, rather than leaving it silently unprotected.
import type { V1Pod } from "@kubernetes/client-node";
import type { ClusterRef, Role } from "../../protocol/intent.ts";
import { ECK_TYPE_LABEL, ES_BUNDLE_DIR, ES_CONTAINER, INJECT_LABEL, KIBANA_CERT_DIR, KIBANA_CONTAINER } from "../names.ts";
import { isInjected } from "./injection-record.ts";

interface UninjectedReport {
  /** Names of the pods without the agent, sorted. */
  pods: string[];
  /** Short machine word for an Event reason / condition reason. */
  reason: "PodsNotInjected";
  /** One line for a human (Event message / condition message). */
  message: string;
}

interface UninjectedOptions {
  /** Pods created before this instant are ignored (e.g. before the cluster was switched on). */
  createdAfter?: Date;

}

/**
 * Given the pods of one cluster with client authentication on or in transition, those lacking the
 * injection; undefined when every pod has it. Terminating and finished pods are not counted: they
 * are going away anyway.
 */
export function findUninjected(cluster: ClusterRef, pods: V1Pod[], options: UninjectedOptions = {}): UninjectedReport | undefined {
  const live = pods.filter((p) => !p.metadata?.deletionTimestamp && p.status?.phase !== "Succeeded" && p.status?.phase !== "Failed");
  const after = options.createdAfter?.getTime();
  const missing = live
    // Opted out or ECK's own mount: left out by choice, reported as not injectable (notInjectable).
    .filter((p) => !isInjected(p) && !deliberate(p))
    .filter((p) => after === undefined || !p.metadata?.creationTimestamp || new Date(p.metadata.creationTimestamp).getTime() >= after)
    .map((p) => p.metadata?.name ?? "")
    .sort();
  if (missing.length === 0) return undefined;
  const shown = missing.length > 10 ? `${missing.slice(0, 10).join(", ")} and ${missing.length - 10} more` : missing.join(", ");
  return {
    pods: missing,
    reason: "PodsNotInjected",
    message:
      `${missing.length} of ${live.length} pods of ${cluster.namespace}/${cluster.name} run without the es-mtls agent ` +
      `(created while the injection webhook was unreachable?): ${shown}. ` +
      `They do not take part in client-certificate authentication until re-created.`,
  };
}

/**
 * Why a pod cannot or must not be injected, so restarting it would only bring it back without the
 * agent (an eviction loop); undefined when a restart would give it the agent. The same rules as the
 * webhook (admission/injection.ts): the opt-out label its objectSelector honours, ECK's own mount at
 * the agent's path; plus: nothing re-creates a pod that has no StatefulSet/ReplicaSet controller.
 */
export function notInjectable(pod: V1Pod, role: Role | undefined = roleOf(pod)): NotInjectableCause | undefined {
  if (pod.metadata?.labels?.[INJECT_LABEL] === "false") return "OptedOut";
  const workload = role && (pod.spec?.containers ?? []).find((c) => c.name === (role === "elasticsearch" ? ES_CONTAINER : KIBANA_CONTAINER));
  const dir = role === "elasticsearch" ? ES_BUNDLE_DIR : KIBANA_CERT_DIR;
  if (workload && !isInjected(pod) && (workload?.volumeMounts ?? []).some((m) => m.mountPath.replace(/\/+$/, "") === dir)) return "PathMounted";
  const owner = pod.metadata?.ownerReferences?.find((o) => o.controller);
  if (owner?.kind !== "StatefulSet" && owner?.kind !== "ReplicaSet") return "NoController";
  return undefined;
}

export type NotInjectableCause = "OptedOut" | "PathMounted" | "NoController";

/** One line per cause, for the condition and the Event (aggregated per cause). */
export const NOT_INJECTABLE_CAUSES: Record<NotInjectableCause, string> = {
  OptedOut: `pod(s) opted out of injection (label ${INJECT_LABEL}: "false")`,
  PathMounted: "pod(s) already mount the agent's path (ECK's own client-certificate feature?)",
  NoController: "pod(s) without a StatefulSet or ReplicaSet to re-create them",
};

function roleOf(pod: V1Pod): Role | undefined {
  const t = pod.metadata?.labels?.[ECK_TYPE_LABEL];
  return t === "elasticsearch" || t === "kibana" ? t : undefined;
}

function deliberate(pod: V1Pod): boolean {
  const cause = notInjectable(pod);
  return cause === "OptedOut" || cause === "PathMounted";
}
