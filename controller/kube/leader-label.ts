// The intent API's Service (es-mtls-controller) sends agents to the leader only
// (selector mtls.es-mtls.io/leader=true): intents, CSR signing and status reports
// all live in the leader's memory. The webhook Service has no such selector: every
// replica answers admission from its own caches. The leader labels its own pod; every
// replica clears the label at start, so a restarted ex-leader never keeps receiving agents.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { apiErrorMessage, isNotFound } from "./api-error.ts";

const LEADER_LABEL = "mtls.es-mtls.io/leader";

export async function markLeaderPod(core: k8s.CoreV1Api, namespace: string, podName: string, leader: boolean): Promise<void> {
  try {
    const pod = await core.readNamespacedPod({ name: podName, namespace });
    const has = pod.metadata?.labels?.[LEADER_LABEL] === "true";
    if (has === leader) return;
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "patch", resource: "Pod" });
    await core.patchNamespacedPod(
      { name: podName, namespace, body: { metadata: { labels: { [LEADER_LABEL]: leader ? "true" : null } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
  } catch (e) {
    // Outside a pod (local runs, tests) there is nothing to label.
    if (!isNotFound(e)) log.warn("could not update the leader label on this pod", { error: apiErrorMessage(e) });
  }
}
