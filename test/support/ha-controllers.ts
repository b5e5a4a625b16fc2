// Two controller replicas on one Lease against a fresh control plane (with the audit log): the
// setup the failover and the pause tests share.
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ControllerProcess } from "./controller-process.ts";
import { prepareCluster } from "./cluster-setup.ts";

export const LEASE_NAME = "es-mtls-controller";
export const CONTROLLER_NAMESPACE = "es-mtls-system";

export interface HaControllers {
  cp: ControlPlane;
  core: k8s.CoreV1Api;
  custom: k8s.CustomObjectsApi;
  coordination: k8s.CoordinationV1Api;
  replicas: ControllerProcess[];
  /** The Lease's holderIdentity right now. */
  holder(): Promise<string | undefined>;
  stop(): Promise<void>;
}

export async function startHaControllers(namespace: string, names = ["replica-a", "replica-b"]): Promise<HaControllers> {
  const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, controllerManager: false });
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const coordination = kc.makeApiClient(k8s.CoordinationV1Api);
  const replicas: ControllerProcess[] = [];
  const ha: HaControllers = {
    cp,
    core,
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
    coordination,
    replicas,
    holder: async () => (await coordination.readNamespacedLease({ name: LEASE_NAME, namespace: CONTROLLER_NAMESPACE })).spec?.holderIdentity,
    stop: async () => {
      for (const r of replicas) await r.stop();
      await cp.stop();
    },
  };
  try {
    await prepareCluster(core, [namespace]);
    for (const name of names) {
      const kubeconfig = await cp.kubeconfigFor(`es-mtls-${name}`, ["system:masters"]);
      replicas.push(await ControllerProcess.start({ kubeconfig, name, namespace: CONTROLLER_NAMESPACE, extraArgs: ["--resync=2s"] }));
    }
  } catch (e) {
    await ha.stop();
    throw e;
  }
  return ha;
}
