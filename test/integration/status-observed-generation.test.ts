// Issue 13 item 10: the ClientAuthentication status says which Elasticsearch generation it
// reflects. A spec change that changes nothing else in the status must still move
// status.observedGeneration, or a reader cannot tell a stale status from a current one.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES, CLIENT_AUTHENTICATION as CA_RES } from "../../controller/resources.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";

const ns = "generations";
let cp: ControlPlane;
let controller: ControllerProcess;
let custom: k8s.CustomObjectsApi;

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(cp.kubeConfig().makeApiClient(k8s.CoreV1Api), [ns]);
  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]), name: "controller-a", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const statusOf = async (name: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name })) as any).status;

// controller/status/write.ts compares observedGeneration too (issue 13 item 10).
test("status.observedGeneration follows a spec change that changes nothing else in the status", async () => {
  const es: any = await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "gen" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 1 }] } },
  });
  await eventually(async () => {
    const s = await statusOf("gen");
    expect(s?.phase).toBe("Enabled");
    expect(s?.observedGeneration).toBe(es.metadata.generation);
  }, { timeoutMs: 20_000, what: "Enabled at the first generation" });

  // Scale the nodeSet: a new generation; no pods exist, so phase, bundle and pods are unchanged.
  const scaled: any = await custom.patchNamespacedCustomObject(
    { ...ES, namespace: ns, name: "gen", body: { spec: { nodeSets: [{ name: "default", count: 2 }] } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );
  expect(scaled.metadata.generation).toBe(es.metadata.generation + 1);
  await eventually(async () => expect((await statusOf("gen"))?.observedGeneration).toBe(scaled.metadata.generation), {
    timeoutMs: 15_000,
    what: "observedGeneration of the new generation",
  });
});
