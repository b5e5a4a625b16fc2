// Issue 8 item 1 with ECK's real CRDs (read from ../shared at test time): a cluster ECK ≥ 3.4
// manages gets zero writes from es-mtls (witness: the apiserver's audit log over several
// reconciles), a phase ManagedByECK in `kubectl get clientauthentications`, and one Event; ECK 3.3
// gets `required` refused with the reason.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES } from "../../controller/resources.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { clientCaSecretName } from "../../controller/names.ts";

const ECK_CRDS = join(import.meta.dir, "..", "..", "..", "shared", "reference", "eck-crds", "all-crds.yaml");
const present = existsSync(ECK_CRDS);
const ns = "eck-managed";
const USER = "es-mtls-eck-test";
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

const CA_RES = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" };
const statusOf = async (name: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name }).catch(() => ({}))) as any).status;

async function reconciles(): Promise<number> {
  const text = await (await controller.health("/metrics")).text();
  return [...text.matchAll(/^es_mtls_controller_reconciles_total\{cluster="eck-managed\/[^"]+"\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

beforeAll(async () => {
  if (!present) return;
  cp = await ControlPlane.start({ crds: [join(import.meta.dir, "..", "..", "deploy", "crds"), ECK_CRDS], audit: true, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [ns]);
  const kubeconfig = await cp.kubeconfigFor(USER, ["system:masters"]);
  controller = await ControllerProcess.start({ kubeconfig, name: "eck-test", namespace: "es-mtls-system", extraArgs: ["--resync=1s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

test.skipIf(!present)("ECK 3.5 manages the cluster (and has the feature on): es-mtls writes nothing to its objects, says ManagedByECK once", async () => {
  const since = new Date().toISOString();
  // What ECK 3.5 shows for a cluster with the feature on: its version stamp, its state annotation, its bundle Secret.
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: {
      apiVersion: "elasticsearch.k8s.elastic.co/v1",
      kind: "Elasticsearch",
      metadata: { name: "by-eck", annotations: { "common.k8s.elastic.co/controller-version": "3.5.0", "eck.k8s.elastic.co/client-authentication-required": "true" } },
      spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 1 }], http: { tls: { client: { authentication: true } } } },
    },
  });
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "by-eck-es-client-trust-bundle" }, stringData: { "client-trust-bundle.crt": "ECK's own bundle" } } });
  await eventually(async () => expect((await statusOf("by-eck"))?.phase).toBe("ManagedByECK"), { timeoutMs: 20_000, what: "ManagedByECK" });
  const before = await reconciles();
  await eventually(async () => expect(await reconciles()).toBeGreaterThanOrEqual(before + 4), { timeoutMs: 30_000, what: "four more reconciles of the cluster" });

  const writes = cp
    .auditEvents()
    .filter((e) => e.user.username === USER && e.stage === "ResponseComplete" && e.requestReceivedTimestamp >= since && e.objectRef?.namespace === ns)
    .filter((e) => ["create", "update", "patch", "delete"].includes(e.verb));
  const onClusterObjects = writes.filter((e) => !["clientauthentications", "events"].includes(e.objectRef?.resource ?? ""));
  expect(onClusterObjects.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
  const bundle = await core.readNamespacedSecret({ namespace: ns, name: "by-eck-es-client-trust-bundle" });
  expect(atob(bundle.data!["client-trust-bundle.crt"]!)).toBe("ECK's own bundle");
  const es: any = await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "by-eck" });
  expect(es.metadata.annotations["eck.k8s.elastic.co/client-authentication-required"]).toBe("true");
  const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=by-eck" })).items.filter((e) => e.reason === "ManagedByECK");
  expect(events).toHaveLength(1);
  // Its own status object is written once, then left alone.
  expect(writes.filter((e) => e.objectRef?.resource === "clientauthentications").length).toBeLessThanOrEqual(2);
});

test.skipIf(!present)("ECK 3.3 manages the cluster: required is refused with the reason (ECK would be locked out) and the version needed", async () => {
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: {
      apiVersion: "elasticsearch.k8s.elastic.co/v1",
      kind: "Elasticsearch",
      metadata: { name: "old-eck", annotations: { "common.k8s.elastic.co/controller-version": "3.3.2" } },
      spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 1 }], http: { tls: { client: { authentication: true } } } },
    },
  });
  await eventually(async () => {
    const s = await statusOf("old-eck");
    expect(s?.phase).toBe("Blocked");
    expect(s.conditions.find((c: any) => c.type === "Ready")).toMatchObject({ reason: "ECKTooOld" });
    expect(s.conditions.find((c: any) => c.type === "Ready").message).toContain("Upgrade ECK to 3.4.0 or later");
  }, { timeoutMs: 20_000, what: "Blocked: ECKTooOld" });
  await expect(core.readNamespacedSecret({ namespace: "es-mtls-system", name: clientCaSecretName(ns, "old-eck") })).rejects.toBeDefined();
});

test.skipIf(!present)("the installed CRD (ECK 3.5's) is read and reported as keeping spec.http.tls.client: /readyz and the metric say so", async () => {
  await eventually(async () => {
    const ready = (await (await controller.health("/readyz")).json()) as { elasticsearchCrd?: { supported: boolean; detail: string } };
    expect(ready.elasticsearchCrd?.supported).toBe(true);
  }, { timeoutMs: 20_000, what: "the CRD check in /readyz" });
  const text = await (await controller.health("/metrics")).text();
  expect(text).toMatch(/^es_mtls_controller_elasticsearch_crd_client_authentication 1$/m);
});
