// How many pods a workload controller wants (StatefulSet, ReplicaSet): a transition may finish
// only when every pod it will (re)create is there and proven, not just the pods seen right now
// (issue 13: a pod evicted last is simply absent for a moment). Read on demand, only when a
// transition is about to finish; a function so unit tests replace it.
import type * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./api-error.ts";

/** Desired replicas; undefined when the kind is not one we read or the owner is gone. */
export type ReplicaReader = (namespace: string, kind: string, name: string) => Promise<number | undefined>;

export function replicaReader(apps: k8s.AppsV1Api): ReplicaReader {
  return async (namespace, kind, name) => {
    try {
      if (kind === "StatefulSet") return (await apps.readNamespacedStatefulSet({ name, namespace })).spec?.replicas ?? 1;
      if (kind === "ReplicaSet") return (await apps.readNamespacedReplicaSet({ name, namespace })).spec?.replicas ?? 1;
      return undefined;
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}
