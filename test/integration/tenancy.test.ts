// Issue 9 on the real apiserver, with the controller under its own ServiceAccount and
// deploy/rbac.yaml: a namespace is a trust boundary. A tenant who can create objects only in
// their own namespace cannot extend, crowd or take over another namespace's cluster; RBAC that
// the cluster's side grants (a Role in prod) is what lets a cross-namespace reference count.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import { clientCaSecretName } from "../../controller/names.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { startControllerUnderOwnRbac } from "../support/controller-rbac.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { TestCA, selfSignedClient } from "../support/test-ca.ts";
import { clientCertLabels, createClientCertSecret } from "../support/client-cert-secret.ts";

const PROD = "prod";
const TENANT = "tenant";
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let rbac: k8s.RbacAuthorizationV1Api;

const CA_RES = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" };
const statusOf = async (name: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: PROD, name })) as any).status;
const bundleOf = async (name: string) => atob((await core.readNamespacedSecret({ name: `${name}-es-client-trust-bundle`, namespace: PROD })).data!["client-trust-bundle.crt"]!);
const body = (pem: string) => pem.split("\n")[1]!;
const eventsOn = async (namespace: string, name: string) => (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items;

async function createEs(name: string) {
  await custom.createNamespacedCustomObject({ ...ES, namespace: PROD, body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name }, spec: { http: { tls: { client: { authentication: true } } } } } });
}
async function createKibana(namespace: string, name: string, ref: Record<string, string>): Promise<any> {
  return custom.createNamespacedCustomObject({ ...KB, namespace, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name }, spec: { elasticsearchRef: ref } } });
}
/** What prod's owner grants: tenant's default ServiceAccount may get this one Elasticsearch. */
async function grant(es: string, namespace = TENANT) {
  const role = `read-${es}-${namespace}`;
  await rbac.createNamespacedRole({ namespace: PROD, body: { metadata: { name: role }, rules: [{ apiGroups: [ES.group], resources: [ES.plural], resourceNames: [es], verbs: ["get"] }] } });
  await rbac.createNamespacedRoleBinding({ namespace: PROD, body: { metadata: { name: role }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role }, subjects: [{ kind: "ServiceAccount", name: "default", namespace }] } });
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
  const admin = cp.kubeConfig();
  core = admin.makeApiClient(k8s.CoreV1Api);
  custom = admin.makeApiClient(k8s.CustomObjectsApi);
  rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  await prepareCluster(core, [PROD, TENANT, "aaa-tenant"]);
  ({ controller } = await startControllerUnderOwnRbac(cp));
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

test("a labelled Secret of another namespace: a root CA never counts; a leaf counts only once prod's RBAC lets the tenant get the Elasticsearch", async () => {
  await createEs("quickstart");
  await eventually(async () => expect((await statusOf("quickstart"))?.bundleSha256).toBeDefined(), { timeoutMs: 20_000, what: "bundle" });
  const kb = await createKibana(TENANT, "kb", { name: "elsewhere" });
  const owner = { kind: "Kibana", name: "kb", uid: kb.metadata.uid };
  const root = await TestCA.create("tenant root");
  const leaf = await selfSignedClient({ cn: "tenant-client" });
  await createClientCertSecret(core, { namespace: TENANT, name: "root", es: "quickstart", owner, certPem: root.pem });
  // The labels name prod's cluster: a label is not a permission.
  const labelled = await createClientCertSecret(core, { namespace: TENANT, name: "leaf", es: "quickstart", owner, certPem: leaf.certPem });
  labelled.metadata!.labels!["eck.k8s.elastic.co/owner-namespace"] = PROD;
  await core.replaceNamespacedSecret({ namespace: TENANT, name: "leaf", body: labelled });
  const rootSecret = await core.readNamespacedSecret({ namespace: TENANT, name: "root" });
  rootSecret.metadata!.labels!["eck.k8s.elastic.co/owner-namespace"] = PROD;
  await core.replaceNamespacedSecret({ namespace: TENANT, name: "root", body: rootSecret });

  await eventually(async () => {
    const ev = (await eventsOn(TENANT, "leaf")).map((e) => e.message ?? "");
    expect(ev.some((m) => m.includes("ServiceAccount tenant/default may not get elasticsearches/quickstart in namespace prod"))).toBe(true);
  }, { timeoutMs: 20_000, what: "the refusal on the tenant's Secret" });
  expect(await bundleOf("quickstart")).not.toContain(body(leaf.certPem));

  await grant("quickstart");
  await eventually(async () => expect(await bundleOf("quickstart")).toContain(body(leaf.certPem)), { timeoutMs: 30_000, what: "the authorized leaf in prod's bundle" });
  // The root never: only the cluster's own CAs are anchors.
  expect(await bundleOf("quickstart")).not.toContain(body(root.pem));
  const rootEvents = (await eventsOn(TENANT, "root")).map((e) => e.message ?? "");
  expect(rootEvents.some((m) => m.includes("is a CA certificate (CA:TRUE)"))).toBe(true);
});

test("a Kibana of another namespace without RBAC is left out with an Event and the References condition; with RBAC it is in use (its subject, naming its namespace, is checked in test/controller/reconcile/tenancy.test.ts)", async () => {
  await createEs("shared");
  await createKibana(TENANT, "kb-shared", { name: "shared", namespace: PROD });
  await eventually(async () => {
    const refs = (await statusOf("shared"))?.conditions?.find((c: any) => c.type === "References");
    expect(refs).toMatchObject({ status: "False", reason: "NotAuthorized" });
    expect(refs.message).toContain("Kibana tenant/kb-shared");
  }, { timeoutMs: 20_000, what: "References=False" });
  const ev = (await eventsOn(TENANT, "kb-shared")).filter((e) => e.reason === "ReferenceNotAuthorized");
  expect(ev.length).toBeGreaterThan(0);

  await grant("shared");
  await eventually(async () => {
    const refs = (await statusOf("shared"))?.conditions?.find((c: any) => c.type === "References");
    expect(refs).toMatchObject({ status: "True" });
  }, { timeoutMs: 30_000, what: "References=True once granted" });
});

test("a planted <es>-es-client-ca (a tenant with Secret rights in prod, before enabling): never used, never deleted; the CA is made in the controller's namespace", async () => {
  const attacker = await TestCA.create("attacker");
  await core.createNamespacedSecret({ namespace: PROD, body: { metadata: { name: "planted-es-client-ca" }, stringData: { "tls.crt": attacker.pem, "tls.key": "not used" } } });
  await createEs("planted");
  await eventually(async () => expect((await statusOf("planted"))?.phase).toBe("Enabled"), { timeoutMs: 20_000, what: "Enabled: the planted name is not one es-mtls uses" });
  const ours = await core.readNamespacedSecret({ namespace: "es-mtls-system", name: clientCaSecretName(PROD, "planted") });
  expect(atob(ours.data!["tls.crt"]!)).not.toContain(body(attacker.pem));
  expect(await bundleOf("planted")).not.toContain(body(attacker.pem));
  const still = await core.readNamespacedSecret({ namespace: PROD, name: "planted-es-client-ca" });
  expect(still.metadata?.labels?.["app.kubernetes.io/managed-by"]).toBeUndefined();
  expect(atob(still.data!["tls.crt"]!)).toContain(body(attacker.pem));
});

test("crowding: 150 authorized Secrets of one namespace take at most its share; prod's own client stays in the bundle", async () => {
  await createEs("crowded");
  await grant("crowded", "aaa-tenant");
  const noisyKb = await createKibana("aaa-tenant", "kb", { name: "x" });
  const prodKb = await createKibana(PROD, "kb", { name: "crowded" });
  const labels = clientCertLabels("crowded", PROD); // the labels name prod's cluster from another namespace
  for (let i = 0; i < 150; i++) {
    const leaf = await selfSignedClient({ cn: `noisy-${i}` });
    await core.createNamespacedSecret({
      namespace: "aaa-tenant",
      body: { metadata: { name: `s-${String(i).padStart(3, "0")}`, labels, ownerReferences: [{ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", name: "kb", uid: noisyKb.metadata.uid }] }, stringData: { "tls.crt": leaf.certPem } },
    });
  }
  const mine = await selfSignedClient({ cn: "prod-client" });
  await createClientCertSecret(core, { namespace: PROD, name: "zzz-prod-client", es: "crowded", owner: { kind: "Kibana", name: "kb", uid: prodKb.metadata.uid }, certPem: mine.certPem });
  await eventually(async () => {
    const bundle = await bundleOf("crowded");
    expect(bundle).toContain(body(mine.certPem));
    const count = (bundle.match(/BEGIN CERTIFICATE/g) ?? []).length;
    expect(count).toBeGreaterThan(10); // the tenant's Secrets count (authorized)…
    expect(count).toBeLessThan(150); // …up to the namespace's share only
  }, { timeoutMs: 30_000, what: "a bounded share for aaa-tenant" });
}, 120_000);
