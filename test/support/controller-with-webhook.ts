// A fresh control plane (with kube-controller-manager and the audit log) and one real controller
// whose pod-injection webhook the apiserver calls: the setup the rollout tests share.
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { desiredMutatingWebhookConfiguration } from "../../controller/admission/configurations.ts";
import { ControllerProcess } from "./controller-process.ts";
import { prepareCluster } from "./cluster-setup.ts";
import { eventually } from "./eventually.ts";
import { servingCa } from "./intent-client.ts";

export interface ControllerWithWebhook {
  cp: ControlPlane;
  controller: ControllerProcess;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  /** The controller's serving CA (PEM). */
  ca: string;
  stop(): Promise<void>;
}

/** `extraArgs`: more controller flags (e.g. `--es-health-gate=false` where no Elasticsearch runs); `crds`: instead of the project's (e.g. ECK's). */
export async function startControllerWithWebhook(namespace: string, o: { resync?: string; extraArgs?: string[]; crds?: string[] } = {}): Promise<ControllerWithWebhook> {
  const cp = await ControlPlane.start({ crds: o.crds ?? PROJECT_CRDS, audit: true });
  const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  let controller: ControllerProcess | undefined;
  const stop = async () => {
    await controller?.stop();
    await cp.stop();
  };
  try {
    await prepareCluster(core, [namespace]);
    controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]), name: "controller", namespace: "es-mtls-system", extraArgs: [`--resync=${o.resync ?? "2s"}`, ...(o.extraArgs ?? [])] });
    await controller.waitReady();
    const ca = await servingCa(core, "es-mtls-system");
    await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
      body: desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: ca }),
    });
    await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace }), { timeoutMs: 30_000, what: "default SA" });
    return { cp, controller, core, custom: cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi), ca, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
