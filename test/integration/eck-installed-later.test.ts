// Issue 19 item 3: a cluster Enabled by es-mtls on the no-ECK path (its standalone CRDs, the
// object annotated eck.k8s.elastic.co/managed: "false" as deploy/standalone-crds/'s policy
// requires), then the real ECK 3.5 operator installed (its CRDs replacing the standalone ones,
// test/eck/crds.ts). ECK must create no second cluster from that object (no StatefulSet, Service,
// Deployment; it never writes its status) and es-mtls keeps serving it: phase Enabled, its Secrets
// untouched. So that an idle ECK could not pass, ECK is shown reconciling other objects in the same
// run: one annotated eck.k8s.elastic.co/pause-orchestration: "true" instead (ECK's newer
// annotation, which unmanaged.go points to) gets ECK's Services, Secrets and status, only no
// StatefulSet: a paused object is still ECK's, which is why the standalone objects carry
// managed: "false".
//
// What this leaves out: no pod runs (no kube-controller-manager), as in eck-coexistence.test.ts;
// ECK's first pass, which would create the StatefulSets and Services, needs none.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ELASTICSEARCH as ES, KIBANA as KB, CLIENT_AUTHENTICATION as CA_RES } from "../../controller/resources.ts";
import { clientCaSecretName, ECK_MANAGED_ANNOTATION, internalClientCertSecretName, trustBundleSecretName } from "../../controller/names.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { applyManifest } from "../support/controller-rbac.ts";
import { eventually } from "../support/eventually.ts";
import { eckCrdsFile } from "../eck/module.ts";
import { ensureEckOperator } from "../eck/operator-binary.ts";
import { EckOperator, ECK_USER } from "../eck/operator-process.ts";
import { replaceWithEckCrds } from "../eck/crds.ts";

const ECK_CRDS = eckCrdsFile("ECK installed after a standalone cluster");
const operator = ECK_CRDS ? ensureEckOperator((l) => console.error(l)) : undefined;
if (operator && "missing" in operator) console.error(`skipping ECK installed after a standalone cluster: ${operator.missing}`);
const present = !!operator && "path" in operator;

/** The standalone cluster's namespace, and the one where ECK's own (paused) object lives. */
const ns = "standalone";
const eckNs = "eck-owned";
const PAUSE = "eck.k8s.elastic.co/pause-orchestration";
const USER = "es-mtls-later-test";
let cp: ControlPlane;
let controller: ControllerProcess;
let eck: EckOperator;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;

const statusOf = async (): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name: "search" }).catch(() => ({}))) as any).status;

async function reconciles(): Promise<number> {
  const text = await (await controller.health("/metrics")).text();
  return Number(new RegExp(`^es_mtls_controller_reconciles_total\\{cluster="${ns}/search"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

const elasticsearch = (name: string, annotations: Record<string, string>) => ({
  apiVersion: "elasticsearch.k8s.elastic.co/v1",
  kind: "Elasticsearch",
  metadata: { name, annotations },
  spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 3, config: { "node.store.allow_mmap": false } }], http: { tls: { client: { authentication: true } } } },
});

/** The resourceVersions of es-mtls's Secrets for the standalone cluster. */
async function esMtlsSecrets(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [namespace, name] of [[ns, trustBundleSecretName("search")], [ns, internalClientCertSecretName("search")], ["es-mtls-system", clientCaSecretName(ns, "search")]] as const) {
    out[`${namespace}/${name}`] = (await core.readNamespacedSecret({ namespace, name })).metadata!.resourceVersion!;
  }
  return out;
}

/** Names of the workload objects in a namespace: what a second cluster would be made of. */
async function workloads(namespace: string): Promise<string[]> {
  const sts = (await apps.listNamespacedStatefulSet({ namespace })).items.map((o) => `StatefulSet/${o.metadata!.name}`);
  const deploys = (await apps.listNamespacedDeployment({ namespace })).items.map((o) => `Deployment/${o.metadata!.name}`);
  const services = (await core.listNamespacedService({ namespace })).items.map((o) => `Service/${o.metadata!.name}`);
  return [...sts, ...deploys, ...services].sort();
}

beforeAll(async () => {
  if (!present) return;
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  for (const name of [ns, eckNs, "es-mtls-system"]) await core.createNamespace({ body: { metadata: { name } } });
  await applyManifest(cp, "standalone-crds/unmanaged-by-eck-policy.yaml");
  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor(USER, ["system:masters"]), name: "later-test", namespace: "es-mtls-system", extraArgs: ["--resync=1s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await eck?.stop();
  await cp?.stop();
});

test.skipIf(!present)("a standalone cluster Enabled by es-mtls, then ECK 3.5 installed (CRDs and operator): ECK skips it (no StatefulSet, Service or Deployment, no status), es-mtls keeps it Enabled with its Secrets untouched", async () => {
  const unmanaged = { [ECK_MANAGED_ANNOTATION]: "false" };
  await custom.createNamespacedCustomObject({ ...ES, namespace: ns, body: elasticsearch("search", unmanaged) });
  await custom.createNamespacedCustomObject({
    ...KB,
    namespace: ns,
    body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "search", annotations: unmanaged }, spec: { version: "9.4.0", count: 1, elasticsearchRef: { name: "search" } } },
  });
  // No pods yet: Enabled at once, with every Secret of the feature written. Waited for with the
  // Kibana counted: a first reconcile may run before the Kibana reaches the controller's cache, and
  // the next one reserves a new intent generation on the bundle Secret (a Kibana is intent content).
  await eventually(async () => {
    const status = await statusOf();
    expect(status?.phase).toBe("Enabled");
    expect(status.conditions.find((c: any) => c.type === "KibanaIdentities")?.message).toMatch(/^1 Kibana identit/);
  }, { timeoutMs: 30_000, what: "Enabled on the no-ECK path, its Kibana counted" });
  const secrets = await eventually(esMtlsSecrets, { timeoutMs: 10_000, what: "es-mtls's Secrets" });
  expect((await statusOf()).conditions.find((c: any) => c.type === "UnmanagedByECK")).toMatchObject({ status: "True", reason: "Annotated" });

  await replaceWithEckCrds(cp.kubeConfig(), ECK_CRDS!);
  eck = await EckOperator.start({ binary: (operator as { path: string }).path, kubeconfig: await cp.kubeconfigFor(ECK_USER, ["system:masters"]), core });
  // ECK at work on its own object, annotated with pause-orchestration only (allowed now: ECK's CRD).
  await custom.createNamespacedCustomObject({ ...ES, namespace: eckNs, body: elasticsearch("paused", { [PAUSE]: "true" }) });
  await eventually(async () => {
    const paused = (await custom.getNamespacedCustomObject({ ...ES, namespace: eckNs, name: "paused" })) as any;
    expect(paused.status?.observedGeneration).toBe(paused.metadata.generation);
    // Its cluster-wide Services; the nodeSet's headless Service comes with the StatefulSet, paused.
    expect(await workloads(eckNs)).toEqual(["Service/paused-es-http", "Service/paused-es-internal-http", "Service/paused-es-transport"]);
    const eckSecrets = (await core.listNamespacedSecret({ namespace: eckNs })).items.map((x) => x.metadata!.name!);
    expect(eckSecrets).toEqual(expect.arrayContaining(["paused-es-elastic-user", "paused-es-http-certs-public"]));
  }, { timeoutMs: 60_000, what: "ECK's pass over the paused Elasticsearch: its Services, Secrets and status" });
  // ECK saw both standalone objects and skipped them (its log), so their absence below is ECK's decision.
  for (const [field, controllerName] of [["es_name", "elasticsearch"], ["kibana_name", "kibana"]]) {
    await eventually(
      () => expect(eck.logs.some((l) => l.includes("Skipping reconciliation") && l.includes(`"${field}":"search"`) && l.includes(`"namespace":"${ns}"`))).toBe(true),
      { timeoutMs: 30_000, what: `ECK's ${controllerName} controller skipping ${ns}/search` },
    );
  }
  // A few more passes of es-mtls over the cluster under ECK's CRDs, next to the running ECK.
  const before = await reconciles();
  await eventually(async () => expect(await reconciles()).toBeGreaterThanOrEqual(before + 4), { timeoutMs: 30_000, what: "four more reconciles" });

  expect(await workloads(ns)).toEqual([]);
  const es = (await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "search" })) as any;
  expect(es.status).toBeUndefined(); // ECK never wrote it, so es-mtls never reads the cluster as ECK's
  expect(es.metadata.annotations?.["eck.k8s.elastic.co/client-authentication-required"]).toBe("true"); // es-mtls's mark, kept
  const status = await statusOf();
  expect(status.phase).toBe("Enabled");
  expect(status.conditions.find((c: any) => c.type === "Ready")).toMatchObject({ status: "True" });
  // Under ECK's CRDs the annotation is no rule any more (reconcile/standalone-marker.ts).
  expect(status.conditions.find((c: any) => c.type === "UnmanagedByECK")).toBeUndefined();
  expect(await esMtlsSecrets()).toEqual(secrets);
  // ECK's writes in the standalone namespace: none to the cluster's workloads, its status or es-mtls's
  // Secrets. Its licence controller does write `search-es-license` (it serves every Elasticsearch it sees).
  const eckWrites = cp
    .auditEvents()
    .filter((e) => e.user.username === ECK_USER && e.stage === "ResponseComplete" && e.objectRef?.namespace === ns && !["get", "list", "watch"].includes(e.verb))
    .map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ""}`);
  expect(eckWrites.filter((w) => !/^(create|update|patch) (events|secrets\/search-es-license)/.test(w))).toEqual([]);
}, 180_000);
