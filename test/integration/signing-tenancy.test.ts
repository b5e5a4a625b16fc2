// Issue 18 finding 1 on the real apiserver, the controller under its own ServiceAccount and
// deploy/rbac.yaml: a CSR is signed only by the CA of the cluster its pod's intent names, only
// while the pod still belongs to that cluster, and a cross-namespace reference is re-authorized at
// signing time; a pod that leaves a cluster's view loses the intent that cluster published.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ELASTICSEARCH as ES, KIBANA as KB, CLIENT_AUTHENTICATION as CA_RES } from "../../controller/resources.ts";
import { clientCaSecretName } from "../../controller/names.ts";
import { INTENT_API_AUDIENCE, type Intent, type ManagedIdentity } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { startControllerUnderOwnRbac } from "../support/controller-rbac.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { call, firstIntents, podToken, servingCa } from "../support/intent-client.ts";
import { makeCsr } from "../support/pki-fixtures.ts";

const PROD = "prod";
const SYSTEM = "es-mtls-system";
/** Deadline for what the controller does after a change (a watch event, then a reconcile), on a busy 2-core machine. */
const BUSY_MS = 30_000;
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let rbac: k8s.RbacAuthorizationV1Api;
let authz: k8s.AuthorizationV1Api;
let servingCaPem: string;

const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const statusOf = async (namespace: string, name: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace, name })) as any).status;
const clusterCa = async (namespace: string, name: string) => new x509.X509Certificate(atob((await core.readNamespacedSecret({ namespace: SYSTEM, name: clientCaSecretName(namespace, name) })).data!["tls.crt"]!));

async function createEs(namespace: string, name: string) {
  await custom.createNamespacedCustomObject({ ...ES, namespace, body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name }, spec: { http: { tls: { client: { authentication: true } } } } } });
  await eventually(async () => expect((await statusOf(namespace, name))?.phase).toBe("Enabled"), { timeoutMs: BUSY_MS, what: `${namespace}/${name} Enabled` });
}

/** A Kibana and one pod of it (no ECK here: the pod is made as ECK would label it), under its own ServiceAccount. */
async function kibanaWithPod(namespace: string, name: string, ref: Record<string, string>): Promise<k8s.V1Pod> {
  await custom.createNamespacedCustomObject({ ...KB, namespace, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name }, spec: { elasticsearchRef: ref } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: `${name}-pods` } } });
  return core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: `${name}-kb-0`, labels: { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": name } },
      spec: { serviceAccountName: `${name}-pods`, containers: [{ name: "kibana", image: "stand-in" }] },
    },
  });
}

const token = (pod: k8s.V1Pod) => podToken(core, pod, INTENT_API_AUDIENCE);
const intentOf = async (pod: k8s.V1Pod) => ((await firstIntents(controller.url, servingCaPem, await token(pod))) as Intent[])[0]!;

/** POST /v1/certificate with a CSR for the intent's managed identity, as the pod's agent would. */
async function sendCsr(pod: k8s.V1Pod, intent: Intent): Promise<Response> {
  const { subject } = intent.identity as ManagedIdentity;
  const csr = await makeCsr({ subject: [{ CN: [subject.commonName] }, { OU: [subject.organizationalUnit] }] });
  return call(`${controller.url}/v1/certificate`, servingCaPem, await token(pod), {
    method: "POST",
    body: JSON.stringify({ generation: intent.generation, csr: csr.pem }),
    headers: { "content-type": "application/json" },
  });
}

async function issuerOf(response: Response): Promise<string> {
  const body = await response.json();
  return new x509.X509Certificate(body.certificate).issuer;
}

/** What the apiserver answers now for "may this ServiceAccount get that Elasticsearch" (RBAC caches settle after a change). */
async function mayGet(sa: { namespace: string; name: string }, es: { namespace: string; name: string }): Promise<boolean> {
  const review = await authz.createSubjectAccessReview({
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: {
        user: `system:serviceaccount:${sa.namespace}:${sa.name}`,
        groups: ["system:serviceaccounts", `system:serviceaccounts:${sa.namespace}`, "system:authenticated"],
        resourceAttributes: { group: ES.group, resource: ES.plural, verb: "get", namespace: es.namespace, name: es.name },
      },
    },
  });
  return review.status?.allowed === true;
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
  const admin = cp.kubeConfig();
  core = admin.makeApiClient(k8s.CoreV1Api);
  custom = admin.makeApiClient(k8s.CustomObjectsApi);
  rbac = admin.makeApiClient(k8s.RbacAuthorizationV1Api);
  authz = admin.makeApiClient(k8s.AuthorizationV1Api);
  await prepareCluster(core, [PROD, "b", "c"]);
  ({ controller } = await startControllerUnderOwnRbac(cp));
  servingCaPem = await servingCa(core, SYSTEM);
  await createEs(PROD, "quickstart");
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

test("a Kibana re-pointed at another namespace's cluster (unauthorized): its stale intent's CSR is refused (403 forbidden), never signed by prod's CA, and the intent is withdrawn", async () => {
  // A tenant in b runs their own cluster and a Kibana of it with a managed identity.
  await createEs("b", "own");
  const pod = await kibanaWithPod("b", "kb", { name: "own" });
  const intent = await eventually(() => intentOf(pod), { timeoutMs: BUSY_MS, what: "the Kibana pod's intent" });
  expect(intent.cluster).toEqual({ namespace: "b", name: "own" });
  expect(intent.identity).toMatchObject({ source: "managed", subject: { commonName: "kb", organizationalUnit: "kb" } });
  const first = await sendCsr(pod, intent);
  expect(first.status).toBe(200);
  expect(await issuerOf(first)).toBe((await clusterCa("b", "own")).subject);

  // Re-pointed at prod's cluster: b's default ServiceAccount may not get it, so the reference is refused…
  await custom.patchNamespacedCustomObject({ ...KB, namespace: "b", name: "kb", body: { spec: { elasticsearchRef: { name: "quickstart", namespace: PROD } } } }, merge);
  await eventually(async () => {
    const refs = (await statusOf(PROD, "quickstart"))?.conditions?.find((c: any) => c.type === "References");
    expect(refs).toMatchObject({ status: "False", reason: "NotAuthorized" });
    expect(refs.message).toContain("Kibana b/kb");
  }, { timeoutMs: BUSY_MS, what: "prod refuses the reference" });

  // …and the CSR sent with the intent it held is refused, not signed by prod's CA.
  const after = await sendCsr(pod, intent);
  const text = await after.text();
  const prodCa = (await clusterCa(PROD, "quickstart")).subject;
  expect({ status: after.status, signedByProd: after.ok && new x509.X509Certificate(JSON.parse(text).certificate).issuer === prodCa }).toEqual({ status: 403, signedByProd: false });
  // Two guards refuse it, whichever comes first: b/own's reconcile (queued by the Kibana's change)
  // withdraws the intent ("no intent"), and until then the signing check finds the pod in another
  // cluster than its intent's (naming both; that message is pinned in test/controller/intent-api/signing-authority.test.ts).
  const refusal = JSON.parse(text) as { error: string; reason: string };
  expect(refusal.error).toBe("forbidden");
  expect(refusal.reason).toMatch(/^no intent for pod b\/kb-kb-0 |has an intent of cluster b\/own but belongs to prod\/quickstart now/);

  // The cluster the pod left withdraws its intent: the agent sees no intent.
  await eventually(async () => {
    const r = await call(`${controller.url}/v1/intent`, servingCaPem, await token(pod));
    expect(r.status).toBe(403);
    expect((await r.json()).reason).toContain("no intent");
  }, { timeoutMs: BUSY_MS, what: "the intent withdrawn" });
});

test("renewal after the RoleBinding is revoked is refused (the reference is re-authorized at signing time), and the intent is withdrawn", async () => {
  await createEs(PROD, "shared");
  const role = "read-shared-c";
  await rbac.createNamespacedRole({ namespace: PROD, body: { metadata: { name: role }, rules: [{ apiGroups: [ES.group], resources: [ES.plural], resourceNames: ["shared"], verbs: ["get"] }] } });
  await rbac.createNamespacedRoleBinding({ namespace: PROD, body: { metadata: { name: role }, roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: role }, subjects: [{ kind: "ServiceAccount", name: "default", namespace: "c" }] } });
  const pod = await kibanaWithPod("c", "kb", { name: "shared", namespace: PROD });
  const intent = await eventually(() => intentOf(pod), { timeoutMs: BUSY_MS, what: "the authorized Kibana's intent" });
  expect(intent.cluster).toEqual({ namespace: PROD, name: "shared" });
  expect(intent.identity).toMatchObject({ source: "managed", subject: { commonName: "kb", organizationalUnit: "c/kb" } });
  const granted = await sendCsr(pod, intent);
  expect(granted.status).toBe(200);
  expect(await issuerOf(granted)).toBe((await clusterCa(PROD, "shared")).subject);

  await rbac.deleteNamespacedRoleBinding({ namespace: PROD, name: role });
  await eventually(async () => expect(await mayGet({ namespace: "c", name: "default" }, { namespace: PROD, name: "shared" })).toBe(false), { timeoutMs: 10_000, what: "the apiserver's RBAC without the binding" });

  const renewal = await sendCsr(pod, intent);
  const text = await renewal.text();
  expect({ status: renewal.status, body: text }).toMatchObject({ status: 403 });
  expect(JSON.parse(text).reason).toContain("may not get elasticsearches/shared in namespace prod");

  await eventually(async () => {
    const r = await call(`${controller.url}/v1/intent`, servingCaPem, await token(pod));
    expect(r.status).toBe(403);
  }, { timeoutMs: BUSY_MS, what: "the intent withdrawn" });
});
