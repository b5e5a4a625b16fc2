// Issue 9 finding 7 on the real apiserver, the controller under its own ServiceAccount and
// deploy/rbac.yaml: a cluster's client CA (certificate and key) lives only in the controller's
// namespace. Nothing in the workload namespace holds a CA key; a Secret named <es>-es-client-ca
// there is never key material, however it is labelled and owned (issue 18 finding 2); the CA goes with its Elasticsearch (no
// kube-controller-manager here: the controller deletes it, not the garbage collector); a CA Secret
// whose cluster no longer exists is swept, and nothing without es-mtls's labels is touched.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { CA_CLUSTER_NAMESPACE_LABEL, CA_CLUSTER_NAME_LABEL, CA_CLUSTER_UID_LABEL, clientCaSecretName } from "../../controller/names.ts";
import { ELASTICSEARCH as ES } from "../../controller/resources.ts";
import { caToSecretData, createClientCa } from "../../controller/pki/ca.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { startControllerUnderOwnRbac } from "../support/controller-rbac.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { isNotFound } from "../../controller/kube/api-error.ts";
import { x509 } from "../../common/x509.ts";

const NS = "team";
const SYSTEM = "es-mtls-system";
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

const CA_RES = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" };
const phaseOf = async (name: string) => (((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: NS, name })) as any).status?.phase as string | undefined);
const caSecret = (name: string) => core.readNamespacedSecret({ namespace: SYSTEM, name: clientCaSecretName(NS, name) });
const bundleOf = async (name: string) => atob((await core.readNamespacedSecret({ name: `${name}-es-client-trust-bundle`, namespace: NS })).data!["client-trust-bundle.crt"]!);
async function gone(read: () => Promise<unknown>): Promise<void> {
  try {
    await read();
  } catch (e) {
    if (isNotFound(e)) return;
    throw e;
  }
  throw new Error("still there");
}
async function createEs(name: string, authentication: boolean): Promise<any> {
  return custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: { apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", metadata: { name }, spec: { http: { tls: { client: { authentication } } } } } });
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [NS]);
  ({ controller } = await startControllerUnderOwnRbac(cp));
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

test("the CA is in the controller's namespace only; a tenant who reads every Secret of the workload namespace reads no CA key", async () => {
  const es = await createEs("search", true);
  await eventually(async () => expect(await phaseOf("search")).toBe("Enabled"), { timeoutMs: 20_000, what: "Enabled" });
  const ca = await caSecret("search");
  expect(ca.metadata!.labels).toMatchObject({ "app.kubernetes.io/managed-by": "es-mtls", [CA_CLUSTER_NAMESPACE_LABEL]: NS, [CA_CLUSTER_NAME_LABEL]: "search", [CA_CLUSTER_UID_LABEL]: es.metadata.uid });
  await gone(() => core.readNamespacedSecret({ namespace: NS, name: "search-es-client-ca" }));
  // The workload namespace still has the CA certificate where it is needed: in the trust bundle.
  expect(await bundleOf("search")).toContain(atob(ca.data!["tls.crt"]!).split("\n")[1]!);

  // A tenant allowed to get/list every Secret of the workload namespace, and nothing else.
  const rbac = cp.kubeConfig().makeApiClient(k8s.RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: "reader" } } });
  await rbac.createNamespacedRole({ namespace: NS, body: { metadata: { name: "secret-reader" }, rules: [{ apiGroups: [""], resources: ["secrets"], verbs: ["get", "list"] }] } });
  await rbac.createNamespacedRoleBinding({ namespace: NS, body: { metadata: { name: "secret-reader" }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "secret-reader" }, subjects: [{ kind: "ServiceAccount", name: "reader", namespace: NS }] } });
  const token = (await core.createNamespacedServiceAccountToken({ namespace: NS, name: "reader", body: { spec: { audiences: [] } } })).status!.token;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "t", server: cp.server, caData: Buffer.from(cp.caPem).toString("base64") }],
    users: [{ name: "reader", token }],
    contexts: [{ name: "t", cluster: "t", user: "reader" }],
    currentContext: "t",
  });
  const tenant = kc.makeApiClient(k8s.CoreV1Api);
  const readable = await eventually(async () => {
    const items = (await tenant.listNamespacedSecret({ namespace: NS })).items;
    expect(items.map((s) => s.metadata!.name)).toContain("search-es-internal-client-cert"); // the reader works
    return items;
  }, { timeoutMs: 10_000, what: "the tenant's RBAC in effect" });
  const caKey = ca.data!["tls.key"]!;
  for (const s of readable) expect({ secret: s.metadata!.name, holdsCaKey: Object.values(s.data ?? {}).includes(caKey) }).toEqual({ secret: s.metadata!.name, holdsCaKey: false });
  const status = async (call: () => Promise<unknown>) => call().then(() => 200, (e) => (e as { code?: number }).code);
  expect(await status(() => tenant.readNamespacedSecret({ namespace: SYSTEM, name: clientCaSecretName(NS, "search") }))).toBe(403);
  expect(await status(() => tenant.listNamespacedSecret({ namespace: SYSTEM }))).toBe(403);
});

test("a planted <es>-es-client-ca dressed as es-mtls's own (its label, a controller ownerReference to the Elasticsearch's UID, a CA certificate and key) is never key material: not the CA, not in the bundle, not touched", async () => {
  const es = await createEs("dressed", false);
  const planted = await createClientCa("dressed");
  const data = await caToSecretData(planted);
  await core.createNamespacedSecret({
    namespace: NS,
    body: {
      metadata: {
        name: "dressed-es-client-ca",
        labels: { "app.kubernetes.io/managed-by": "es-mtls", "elasticsearch.k8s.elastic.co/cluster-name": "dressed" },
        ownerReferences: [{ apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", name: "dressed", uid: es.metadata.uid, controller: true, blockOwnerDeletion: true }],
      },
      type: "Opaque",
      data: { ...data },
    },
  });
  await custom.patchNamespacedCustomObject({ ...ES, namespace: NS, name: "dressed", body: { spec: { http: { tls: { client: { authentication: true } } } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  await eventually(async () => expect(await phaseOf("dressed")).toBe("Enabled"), { timeoutMs: 20_000, what: "Enabled" });
  const plantedBody = planted.certificate.toString("base64").slice(0, 64);
  // The controller's own client certificate is issued by the CA it made, not by the planted one.
  const internal = new x509.X509Certificate(atob((await core.readNamespacedSecret({ namespace: NS, name: "dressed-es-internal-client-cert" })).data!["tls.crt"]!));
  const ours = new x509.X509Certificate(atob((await caSecret("dressed")).data!["tls.crt"]!));
  expect({ issuedByPlanted: await internal.verify({ publicKey: planted.certificate.publicKey, signatureOnly: true }) }).toEqual({ issuedByPlanted: false });
  expect(await internal.verify({ publicKey: ours.publicKey, signatureOnly: true })).toBe(true);
  expect(ours.serialNumber).not.toBe(planted.certificate.serialNumber);
  expect(await bundleOf("dressed")).not.toContain(plantedBody);
  // Not es-mtls's: neither moved nor deleted.
  const still = await core.readNamespacedSecret({ namespace: NS, name: "dressed-es-client-ca" });
  expect(still.data!["tls.key"]).toBe(data["tls.key"]);
});

test("deleting the Elasticsearch deletes its CA Secret (no garbage collector here: the controller does it)", async () => {
  await createEs("short-lived", true);
  await eventually(() => caSecret("short-lived"), { timeoutMs: 20_000, what: "the CA Secret" });
  await custom.deleteNamespacedCustomObject({ ...ES, namespace: NS, name: "short-lived" });
  await eventually(() => gone(() => caSecret("short-lived")), { timeoutMs: 15_000, what: "the CA Secret deleted" });
});

test("the sweep deletes a CA Secret whose cluster UID no longer exists, and never a Secret without es-mtls's labels", async () => {
  await createEs("kept", true);
  await eventually(() => caSecret("kept"), { timeoutMs: 20_000, what: "the live cluster's CA" });
  const labels = { "app.kubernetes.io/managed-by": "es-mtls", [CA_CLUSTER_NAMESPACE_LABEL]: NS, [CA_CLUSTER_NAME_LABEL]: "kept", [CA_CLUSTER_UID_LABEL]: "a-deleted-uid" };
  await core.createNamespacedSecret({ namespace: SYSTEM, body: { metadata: { name: "client-ca-orphan", labels }, stringData: { "tls.crt": "x" } } });
  const { "app.kubernetes.io/managed-by": _, ...unmanaged } = labels;
  await core.createNamespacedSecret({ namespace: SYSTEM, body: { metadata: { name: "client-ca-not-es-mtls", labels: unmanaged }, stringData: { "tls.crt": "x" } } });
  await eventually(() => gone(() => core.readNamespacedSecret({ namespace: SYSTEM, name: "client-ca-orphan" })), { timeoutMs: 15_000, what: "the orphan swept (resync 2 s)" });
  await core.readNamespacedSecret({ namespace: SYSTEM, name: "client-ca-not-es-mtls" });
  await caSecret("kept"); // a live cluster's CA stays
});
