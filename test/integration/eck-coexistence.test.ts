// Issue 19 items 1 and 2: es-mtls next to the real ECK 3.5 operator (built from its Go module,
// test/eck/), with ECK's own CRDs from the same module. ECK manages the cluster; es-mtls must see it
// from what ECK really writes (the Elasticsearch's status, policy/manager.ts) and write nothing to
// that cluster (witness: the apiserver's audit log), only its own ClientAuthentication and Events.
// "ECK ≤ 3.3" is the same operator under the 3.5 CRD less spec.http.tls.client (what the apiserver
// shows with ECK ≤ 3.3's CRD; v3.3.x is not served by the Go module proxy, so it cannot be built).
//
// What this leaves out: no pod runs (no kube-controller-manager, no test node), so ECK never
// reaches Elasticsearch (`<es>-es-http.<ns>.svc` resolves nowhere): its status keeps health
// `unknown`, and its graceful disable (which waits for Elasticsearch and every pod on its
// updateRevision) never finishes, so switching off is not exercised here. ECK's first pass, which
// creates the StatefulSets, its Secrets, the annotation and the status, needs none of that.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES } from "../../controller/resources.ts";
import { ELASTICSEARCH_CRD } from "../../controller/kube/crd-support.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { clientCaSecretName } from "../../controller/names.ts";
import { eckCrdsFile } from "../eck/module.ts";
import { ensureEckOperator } from "../eck/operator-binary.ts";
import { EckOperator, ECK_USER } from "../eck/operator-process.ts";
import { writesToNamespace } from "../eck/cluster-writes.ts";

const ECK_CRDS = eckCrdsFile("es-mtls next to the real ECK operator");
const operator = ECK_CRDS ? ensureEckOperator((l) => console.error(l)) : undefined;
if (operator && "missing" in operator) console.error(`skipping es-mtls next to the real ECK operator: ${operator.missing}`);
const present = !!operator && "path" in operator;

const ns = "eck-managed";
const USER = "es-mtls-eck-test";
const REQUIRED = "eck.k8s.elastic.co/client-authentication-required";
let cp: ControlPlane;
let controller: ControllerProcess;
let eck: EckOperator;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;

const CA_RES = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" };
const statusOf = async (name: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name }).catch(() => ({}))) as any).status;
const getEs = async (name: string): Promise<any> => custom.getNamespacedCustomObject({ ...ES, namespace: ns, name });

async function reconciles(cluster: string): Promise<number> {
  const text = await (await controller.health("/metrics")).text();
  return Number(new RegExp(`^es_mtls_controller_reconciles_total\\{cluster="${ns}/${cluster}"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

/** es-mtls's writes since `since` to the namespace, its objects and its pods, other than its ClientAuthentication and Events. */
const esMtlsWrites = (since: string) => writesToNamespace(cp, USER, ns, since);

function elasticsearch(name: string) {
  return {
    apiVersion: "elasticsearch.k8s.elastic.co/v1",
    kind: "Elasticsearch",
    metadata: { name },
    spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 3, config: { "node.store.allow_mmap": false } }], http: { tls: { client: { authentication: true } } } },
  };
}

beforeAll(async () => {
  if (!present) return;
  cp = await ControlPlane.start({ crds: [join(import.meta.dir, "..", "..", "deploy", "crds"), ECK_CRDS!], audit: true, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  for (const name of [ns, "es-mtls-system"]) await core.createNamespace({ body: { metadata: { name } } });
  // ECK writes its own licensing ConfigMap (elastic-licensing) in elastic-system: none is planted.
  eck = await EckOperator.start({ binary: (operator as { path: string }).path, kubeconfig: await cp.kubeconfigFor(ECK_USER, ["system:masters"]), core });
  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor(USER, ["system:masters"]), name: "eck-test", namespace: "es-mtls-system", extraArgs: ["--resync=1s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await eck?.stop();
  await cp?.stop();
});

test.skipIf(!present)("the real ECK 3.5 operator manages quickstart with client authentication on: its StatefulSet (controller ownerReference), trust bundle, internal certificate, annotation and status", async () => {
  // ECK's licence report first: es-mtls then has an enterprise licence, and would enable the
  // cluster before ECK's first pass if it did not wait for ECK (it did so 3 times out of 3).
  await eventually(async () => {
    const cm = await core.readNamespacedConfigMap({ namespace: "elastic-system", name: "elastic-licensing" });
    expect(cm.data?.eck_license_level).toBe("enterprise_trial");
  }, { timeoutMs: 30_000, what: "ECK's elastic-licensing ConfigMap" });
  const created: any = await custom.createNamespacedCustomObject({ ...ES, namespace: ns, body: elasticsearch("quickstart") });
  const uid = created.metadata.uid;
  await eventually(async () => {
    const sts = await apps.readNamespacedStatefulSet({ namespace: ns, name: "quickstart-es-default" });
    expect(sts.metadata?.ownerReferences?.find((r) => r.controller)).toMatchObject({ kind: "Elasticsearch", name: "quickstart", uid });
    expect(sts.spec?.replicas).toBe(3);
  }, { timeoutMs: 60_000, what: "ECK's StatefulSet quickstart-es-default" });
  await eventually(async () => {
    const bundle = await core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-client-trust-bundle" });
    expect(atob(bundle.data?.["client-trust-bundle.crt"] ?? "")).toContain("-----BEGIN CERTIFICATE-----");
    const internal = await core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-internal-client-cert" });
    expect(Object.keys(internal.data ?? {}).sort()).toEqual(["tls.crt", "tls.key"]);
    const es = await getEs("quickstart");
    expect(es.metadata.annotations?.[REQUIRED]).toBe("true");
    expect(es.status?.observedGeneration).toBe(es.metadata.generation);
  }, { timeoutMs: 60_000, what: "ECK's Secrets, annotation and status" });
  // The status is ECK's write: its user, on the status subresource.
  const statusWriters = new Set(cp.auditEvents().filter((e) => e.objectRef?.resource === "elasticsearches" && e.objectRef.subresource === "status" && ["update", "patch"].includes(e.verb)).map((e) => e.user.username));
  expect([...statusWriters]).toEqual([ECK_USER]);
}, 120_000);

test.skipIf(!present)("es-mtls next to it sees ECK from its status: ManagedByECK, one Event, zero writes to the cluster's objects, its namespace and pods", async () => {
  const since = new Date(0).toISOString(); // from the start: the cluster was created with the feature on
  await eventually(async () => expect((await statusOf("quickstart"))?.phase).toBe("ManagedByECK"), { timeoutMs: 30_000, what: "ManagedByECK" });
  const before = await reconciles("quickstart");
  await eventually(async () => expect(await reconciles("quickstart")).toBeGreaterThanOrEqual(before + 4), { timeoutMs: 30_000, what: "four more reconciles of the cluster" });
  expect(esMtlsWrites(since)).toEqual([]);
  await expect(core.readNamespacedSecret({ namespace: "es-mtls-system", name: clientCaSecretName(ns, "quickstart") })).rejects.toBeDefined();
  const ready = (await statusOf("quickstart")).conditions.find((c: any) => c.type === "Ready");
  expect(ready).toMatchObject({ status: "False", reason: "ManagedByECK" });
  expect(ready.message).not.toContain("stays absent"); // ECK's annotation is there
  const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=quickstart" })).items.filter((e) => e.reason === "ManagedByECK");
  expect(events).toHaveLength(1);
  // ECK's material is still ECK's: no es-mtls label on it.
  const bundle = await core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-client-trust-bundle" });
  expect(bundle.metadata?.labels?.["app.kubernetes.io/managed-by"]).not.toBe("es-mtls");
}, 90_000);

test.skipIf(!present)("the installed CRD (ECK 3.5's) is read and reported as keeping spec.http.tls.client: /readyz and the metric say so", async () => {
  await eventually(async () => {
    const ready = (await (await controller.health("/readyz")).json()) as { elasticsearchCrd?: { supported: boolean } };
    expect(ready.elasticsearchCrd?.supported).toBe(true);
  }, { timeoutMs: 20_000, what: "the CRD check in /readyz" });
  expect(await (await controller.health("/metrics")).text()).toMatch(/^es_mtls_controller_elasticsearch_crd_client_authentication 1$/m);
});

test.skipIf(!present)("ECK ≤ 3.3 (its CRD: no spec.http.tls.client): the field is pruned, ECK still manages the cluster, es-mtls reports the CRD and writes nothing to it", async () => {
  const ext = cp.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api);
  const crd = await ext.readCustomResourceDefinition({ name: ELASTICSEARCH_CRD });
  for (const v of crd.spec.versions) delete v.schema?.openAPIV3Schema?.properties?.spec?.properties?.http?.properties?.tls?.properties?.client;
  await ext.replaceCustomResourceDefinition({ name: ELASTICSEARCH_CRD, body: crd });
  await eventually(async () => {
    const ready = (await (await controller.health("/readyz")).json()) as { elasticsearchCrd?: { supported: boolean } };
    expect(ready.elasticsearchCrd?.supported).toBe(false);
  }, { timeoutMs: 20_000, what: "the CRD without the field in /readyz" });
  const since = new Date().toISOString();
  await eventually(async () => {
    // The apiserver takes a moment to serve the new schema: until then the field would survive (a dry run stores nothing).
    const es = (await custom.createNamespacedCustomObject({ ...ES, namespace: ns, body: elasticsearch("old-eck"), dryRun: "All" })) as any;
    expect(es.spec.http?.tls?.client).toBeUndefined();
  }, { timeoutMs: 20_000, what: "the field pruned on write" });
  await custom.createNamespacedCustomObject({ ...ES, namespace: ns, body: elasticsearch("old-eck") });
  expect((await getEs("old-eck")).spec.http?.tls?.client).toBeUndefined();
  await eventually(async () => {
    const es = await getEs("old-eck");
    expect(es.status?.observedGeneration).toBe(es.metadata.generation);
    await apps.readNamespacedStatefulSet({ namespace: ns, name: "old-eck-es-default" });
  }, { timeoutMs: 60_000, what: "ECK's first pass over old-eck" });
  const before = await reconciles("old-eck");
  await eventually(async () => expect(await reconciles("old-eck")).toBeGreaterThanOrEqual(before + 4), { timeoutMs: 30_000, what: "four more reconciles of old-eck" });
  expect(esMtlsWrites(since)).toEqual([]);
  expect((await getEs("old-eck")).metadata.annotations?.[REQUIRED]).toBeUndefined(); // nobody switched it on
  await expect(core.readNamespacedSecret({ namespace: "es-mtls-system", name: clientCaSecretName(ns, "old-eck") })).rejects.toBeDefined();
  expect(await (await controller.health("/metrics")).text()).toMatch(/^es_mtls_controller_elasticsearch_crd_client_authentication 0$/m);
}, 120_000);
