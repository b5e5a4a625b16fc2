// Pods of an mTLS cluster that run without the agent: created while the injection webhook was
// unreachable (failurePolicy Ignore), or before the cluster's mode was known. Such a pod serves
// without client-certificate enforcement (ES) or without its certificate (Kibana), so the controller
// reports it (Event + condition) and may restart it, rather than leaving it silently unprotected.
import type { V1Pod } from "@kubernetes/client-node";
import type { ClusterRef } from "../../protocol/intent.ts";
import { isInjected } from "./injection-record.ts";

export interface UninjectedReport {
  /** Names of the pods without the agent, sorted. */
  pods: string[];
  /** Short machine word for an Event reason / condition reason. */
  reason: "PodsNotInjected";
  /** One line for a human (Event message / condition message). */
  message: string;
}

export interface UninjectedOptions {
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
    .filter((p) => !isInjected(p))
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
