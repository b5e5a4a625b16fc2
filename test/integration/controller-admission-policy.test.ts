// Issue 18 finding 6 on the real kube-apiserver: deploy/rbac.yaml lets the controller's ServiceAccount
// patch any Namespace and create, patch and delete any Secret (RBAC cannot pin names it does not know),
// and patch any pod of its namespace. deploy/admission-policy.yaml (a ValidatingAdmissionPolicy) narrows
// that to what the code writes. Without the policy, every "wider write" below is admitted (first test,
// dry runs); with it, the apiserver refuses each, while the writes the controller makes, through its
// own Writer and markLeaderPod, still succeed. The whole controller under RBAC and this policy:
// controller-rbac.test.ts (installControllerRbac applies both).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { eventually } from "../support/eventually.ts";
import { applyManifest, CONTROLLER_SERVICE_ACCOUNT, installControllerRbac, untilAdmissionPolicyEnforced, type ControllerIdentity } from "../support/controller-rbac.ts";
import {
  ACTIVE_NAMESPACE_LABEL,
  CA_CLUSTER_NAMESPACE_LABEL,
  CA_CLUSTER_NAME_LABEL,
  CA_CLUSTER_UID_LABEL,
  clientCaSecretName,
  ES_CLUSTER_LABEL,
  FIELD_MANAGER,
  internalClientCertSecretName,
  LEADER_LABEL,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  trustBundleSecretName,
} from "../../controller/names.ts";
import { ELASTICSEARCH, esOwnerReference, type Elasticsearch } from "../../controller/resources.ts";
import { Writer } from "../../controller/kube/writer.ts";
import { markLeaderPod } from "../../controller/kube/leader-label.ts";

const NS = "team";
/** A second workload namespace. */
const OTHER_NS = "team-b";
const SYSTEM = CONTROLLER_SERVICE_ACCOUNT.namespace;
const POLICY = "es-mtls-controller-writes";

let cp: ControlPlane;
let admin: k8s.CoreV1Api;
let sa: ControllerIdentity;
let es: Elasticsearch;

const mergePatch = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);
const body = (e: unknown): string => String((e as { body?: unknown }).body ?? e);

/** The HTTP status of a request (2xx → 200) and, when refused, the apiserver's message. */
async function outcome(action: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await action();
    return { code: 200, message: "" };
  } catch (e) {
    return { code: (e as { code?: number }).code ?? -1, message: body(e) };
  }
}

const ownSecretMeta = (name: string) => ({ name, namespace: NS, labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ES_CLUSTER_LABEL]: es.metadata.name }, ownerReferences: [esOwnerReference(es)] });
const caMeta = () => ({
  name: clientCaSecretName(NS, es.metadata.name),
  namespace: SYSTEM,
  labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [CA_CLUSTER_NAMESPACE_LABEL]: NS, [CA_CLUSTER_NAME_LABEL]: es.metadata.name, [CA_CLUSTER_UID_LABEL]: es.metadata.uid },
});

/**
 * Writes RBAC admits to the controller's ServiceAccount but the code never makes: each with the
 * dry-run flag (the first test: admitted without the policy) or for real (refused with it).
 */
function widerWrites(core: k8s.CoreV1Api): Array<[string, (dryRun?: "All") => Promise<unknown>]> {
  const ns = (labels: Record<string, string | null>, annotations?: Record<string, string>) => (dryRun?: "All") =>
    core.patchNamespace({ name: NS, body: { metadata: { labels, ...(annotations ? { annotations } : {}) } }, dryRun }, mergePatch);
  const secret = (namespace: string, name: string, labels: Record<string, string>, ownerReferences?: k8s.V1OwnerReference[]) => (dryRun?: "All") =>
    core.createNamespacedSecret({ namespace, dryRun, body: { metadata: { name, namespace, labels, ...(ownerReferences ? { ownerReferences } : {}) }, data: { x: btoa("x") } } });
  const own = { [MANAGED_BY_LABEL]: MANAGED_BY, [ES_CLUSTER_LABEL]: "search" };
  return [
    ["Namespace: a Pod Security label", ns({ "pod-security.kubernetes.io/enforce": "privileged" })],
    ["Namespace: its own label beside another", ns({ [ACTIVE_NAMESPACE_LABEL]: "true", "team-owner": "mallory" })],
    ["Namespace: its own label to another value", ns({ [ACTIVE_NAMESPACE_LABEL]: "false" })],
    ["Namespace: an annotation", ns({}, { "scheduler.alpha.kubernetes.io/node-selector": "pool=evil" })],
    ["Namespace: removing a label it does not own", ns({ "kubernetes.io/metadata.name": null, team: null })],
    ["Secret: another name in a workload namespace, with es-mtls's labels", secret(NS, "db-password", own, [esOwnerReference(es)])],
    ["Secret: its name without es-mtls's label", secret(NS, internalClientCertSecretName("search"), { [ES_CLUSTER_LABEL]: "search" }, [esOwnerReference(es)])],
    ["Secret: its name for a cluster its label does not name", secret(NS, internalClientCertSecretName("other"), own, [esOwnerReference(es)])],
    ["Secret: its name without an ownerReference to the Elasticsearch", secret(OTHER_NS, trustBundleSecretName("search"), own)],
    ["Secret: a client-ca-… name in its namespace without the CA labels", secret(SYSTEM, "client-ca-anything", { [MANAGED_BY_LABEL]: MANAGED_BY })],
    ["Secret: a client-ca-… name in a workload namespace", secret(NS, clientCaSecretName(NS, "search"), caMeta().labels)],
    [
      "Secret: applying over a user's Secret of its name",
      (dryRun) =>
        core.patchNamespacedSecret(
          { name: trustBundleSecretName("search"), namespace: NS, dryRun, fieldManager: FIELD_MANAGER, force: true, body: { apiVersion: "v1", kind: "Secret", metadata: ownSecretMeta(trustBundleSecretName("search")), data: { y: btoa("y") } } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
        ),
    ],
    ["Secret: deleting a user's Secret", (dryRun) => core.deleteNamespacedSecret({ name: "app-credentials", namespace: NS, dryRun })],
    ["Secret: deleting a Secret of its namespace that is not its own", (dryRun) => core.deleteNamespacedSecret({ name: "someone-elses", namespace: SYSTEM, dryRun })],
    ["Pod: the leader label on a pod of another ServiceAccount", (dryRun) => core.patchNamespacedPod({ name: "other-0", namespace: SYSTEM, dryRun, body: { metadata: { labels: { [LEADER_LABEL]: "true" } } } }, mergePatch)],
    ["Pod: another label on its own pod", (dryRun) => core.patchNamespacedPod({ name: "controller-0", namespace: SYSTEM, dryRun, body: { metadata: { labels: { "app.kubernetes.io/name": "evil" } } } }, mergePatch)],
    ["Pod: an annotation on its own pod", (dryRun) => core.patchNamespacedPod({ name: "controller-0", namespace: SYSTEM, dryRun, body: { metadata: { annotations: { note: "x" } } } }, mergePatch)],
  ];
}

async function createPod(namespace: string, name: string, serviceAccountName: string): Promise<k8s.V1Pod> {
  return admin.createNamespacedPod({
    namespace,
    body: {
      metadata: { name, labels: { app: name } },
      spec: {
        serviceAccountName,
        // The controller's namespace enforces the restricted Pod Security Standard.
        securityContext: { runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } },
        containers: [{ name: "c", image: "registry.invalid/none", securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } } }],
      },
    },
  });
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  const kc = cp.kubeConfig();
  admin = kc.makeApiClient(k8s.CoreV1Api);
  sa = await installControllerRbac(cp, { admissionPolicy: false });
  await admin.createNamespace({ body: { metadata: { name: NS, labels: { team: "a" } } } });
  await admin.createNamespace({ body: { metadata: { name: OTHER_NS } } });
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  // A fresh CRD may answer 429 for a moment.
  es = (await eventually(
    () =>
      custom.createNamespacedCustomObject({
        group: ELASTICSEARCH.group,
        version: ELASTICSEARCH.version,
        plural: ELASTICSEARCH.plural,
        namespace: NS,
        body: { apiVersion: `${ELASTICSEARCH.group}/${ELASTICSEARCH.version}`, kind: ELASTICSEARCH.kind, metadata: { name: "search" }, spec: {} },
      }),
    { what: "the Elasticsearch created" },
  )) as Elasticsearch;
  // A user's Secrets: one at es-mtls's name (not es-mtls's), one of its own; one in the controller's namespace.
  await admin.createNamespacedSecret({ namespace: NS, body: { metadata: { name: trustBundleSecretName("search") }, data: { mine: btoa("user") } } });
  await admin.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "app-credentials" }, data: { password: btoa("pw") } } });
  await admin.createNamespacedSecret({ namespace: SYSTEM, body: { metadata: { name: "someone-elses" }, data: { k: btoa("v") } } });
  // Two pods of the controller's ServiceAccount and one of another, in the controller's namespace.
  await admin.createNamespacedServiceAccount({ namespace: SYSTEM, body: { metadata: { name: "other" } } });
  await createPod(SYSTEM, "controller-0", CONTROLLER_SERVICE_ACCOUNT.name);
  await createPod(SYSTEM, "controller-1", CONTROLLER_SERVICE_ACCOUNT.name);
  await createPod(SYSTEM, "other-0", "other");
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe("as the controller's ServiceAccount", () => {
  test("without the policy, RBAC admits every wider write (dry run)", async () => {
    const core = sa.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const refused: string[] = [];
    for (const [what, write] of widerWrites(core)) {
      const r = await outcome(() => write("All"));
      if (r.code !== 200) refused.push(`${what}: ${r.code} ${r.message.slice(0, 200)}`);
    }
    expect(refused).toEqual([]);
  });

  test("with deploy/admission-policy.yaml, the apiserver refuses every wider write, naming the policy", async () => {
    await applyManifest(cp, "admission-policy.yaml");
    const core = sa.kubeConfig.makeApiClient(k8s.CoreV1Api);
    // The policy takes effect once the apiserver has compiled it and seen its binding.
    await untilAdmissionPolicyEnforced(sa);
    const admitted: string[] = [];
    for (const [what, write] of widerWrites(core)) {
      const r = await outcome(() => write());
      // Refused by the policy's validations (their message), not by RBAC nor by an expression's error.
      if (r.code !== 403 || !r.message.includes(`ValidatingAdmissionPolicy '${POLICY}'`) || !r.message.includes("es-mtls-controller may only")) admitted.push(`${what}: ${r.code} ${r.message.slice(0, 300)}`);
    }
    expect(admitted).toEqual([]);
    // Nothing changed.
    const ns = await admin.readNamespace({ name: NS });
    expect(ns.metadata!.labels).toEqual({ "kubernetes.io/metadata.name": NS, team: "a" });
    expect(ns.metadata!.annotations ?? {}).toEqual({});
    expect((await admin.readNamespacedSecret({ name: trustBundleSecretName("search"), namespace: NS })).data).toEqual({ mine: btoa("user") });
    await admin.readNamespacedSecret({ name: "app-credentials", namespace: NS });
    await admin.readNamespacedSecret({ name: "someone-elses", namespace: SYSTEM });
    const names = (await admin.listNamespacedSecret({ namespace: NS })).items.map((s) => s.metadata!.name).sort();
    expect(names).toEqual(["app-credentials", trustBundleSecretName("search")]);
    // Only the wider writes: the policy is not a blanket refusal (the next test), and it binds only this ServiceAccount.
    await admin.patchNamespace({ name: NS, body: { metadata: { labels: { "pod-security.kubernetes.io/warn": "baseline" } } } }, mergePatch);
    await admin.patchNamespace({ name: NS, body: { metadata: { labels: { "pod-security.kubernetes.io/warn": null } } } }, mergePatch);
  });

  test("with the policy, the writes the controller makes succeed: its label, its Secrets (create, apply, update, delete), its pod's leader label, evictions", async () => {
    const writer = new Writer(sa.kubeConfig);
    const core = sa.kubeConfig.makeApiClient(k8s.CoreV1Api);
    // The namespace label (reconcile/namespace-label.ts's merge patch), added and removed.
    await writer.mergePatch({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels: { [ACTIVE_NAMESPACE_LABEL]: "true" } } });
    expect((await admin.readNamespace({ name: NS })).metadata!.labels![ACTIVE_NAMESPACE_LABEL]).toBe("true");
    await writer.mergePatch({ apiVersion: "v1", kind: "Namespace", metadata: { name: NS, labels: { [ACTIVE_NAMESPACE_LABEL]: null as unknown as string } } });
    expect((await admin.readNamespace({ name: NS })).metadata!.labels![ACTIVE_NAMESPACE_LABEL]).toBeUndefined();

    // The workload-namespace Secrets by server-side apply (create, then update), deleted with a UID precondition.
    const cert = internalClientCertSecretName("search");
    await writer.apply({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: ownSecretMeta(cert), data: { "tls.crt": btoa("1") } });
    const applied = await writer.apply({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: ownSecretMeta(cert), data: { "tls.crt": btoa("2") } }) as k8s.V1Secret;
    expect(applied.data!["tls.crt"]).toBe(btoa("2"));
    await writer.deleteSecret(NS, cert, applied.metadata!.uid);
    expect((await outcome(() => admin.readNamespacedSecret({ name: cert, namespace: NS }))).code).toBe(404);

    // The client CA in its namespace: create, compare-and-swap replace (rotation), delete.
    const ca = await writer.createSecret({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: caMeta(), data: { "tls.crt": btoa("a") } });
    const rotated = await writer.replaceSecret({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { ...caMeta(), resourceVersion: ca.metadata!.resourceVersion }, data: { "tls.crt": btoa("b") } });
    await writer.deleteSecret(SYSTEM, caMeta().name, rotated.metadata!.uid);
    expect((await outcome(() => admin.readNamespacedSecret({ name: caMeta().name, namespace: SYSTEM }))).code).toBe(404);

    // The serving Secret (serving/material.ts): create, then replace.
    const servingMeta = { name: "es-mtls-controller-serving", namespace: SYSTEM, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } };
    const serving = await writer.createSecret({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: servingMeta, data: { "ca.crt": btoa("a") } });
    await writer.replaceSecret({ apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: { ...servingMeta, resourceVersion: serving.metadata!.resourceVersion }, data: { "ca.crt": btoa("b") } });

    // The leader label on its own pod (kube/leader-label.ts), with a token bound to that pod, set and cleared;
    // the same token cannot label the other pod of its ServiceAccount.
    const pod0 = await admin.readNamespacedPod({ name: "controller-0", namespace: SYSTEM });
    const bound = await admin.createNamespacedServiceAccountToken({
      ...CONTROLLER_SERVICE_ACCOUNT,
      body: { spec: { audiences: [], expirationSeconds: 3600, boundObjectRef: { kind: "Pod", apiVersion: "v1", name: "controller-0", uid: pod0.metadata!.uid } } },
    });
    const podKc = new k8s.KubeConfig();
    podKc.loadFromOptions({ ...JSON.parse(JSON.stringify({ clusters: sa.kubeConfig.clusters, contexts: sa.kubeConfig.contexts })), users: [{ name: "es-mtls-controller", token: bound.status!.token }], currentContext: sa.kubeConfig.currentContext });
    const podCore = podKc.makeApiClient(k8s.CoreV1Api);
    const leader = async (name: string) => (await admin.readNamespacedPod({ name, namespace: SYSTEM })).metadata!.labels?.[LEADER_LABEL];
    await markLeaderPod(podCore, SYSTEM, "controller-0", true);
    expect(await leader("controller-0")).toBe("true");
    await markLeaderPod(podCore, SYSTEM, "controller-0", false);
    expect(await leader("controller-0")).toBeUndefined();
    const other = await outcome(() => podCore.patchNamespacedPod({ name: "controller-1", namespace: SYSTEM, body: { metadata: { labels: { [LEADER_LABEL]: "true" } } } }, mergePatch));
    expect(other.code).toBe(403);
    expect(other.message).toContain("es-mtls-controller may only evict pods and add or remove the label mtls.es-mtls.io/leader=true on its own pod");
    // A token not bound to a pod (a controller run outside the cluster) may label a pod of its ServiceAccount.
    await markLeaderPod(core, SYSTEM, "controller-1", true);
    expect(await leader("controller-1")).toBe("true");

    // An eviction (reconcile/restart.ts through Writer.evict).
    await admin.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: "workload" } } });
    await createPod(NS, "search-es-default-0", "workload");
    expect(await writer.evict(NS, "search-es-default-0")).toBe(true);
    await eventually(async () => expect((await outcome(() => admin.readNamespacedPod({ name: "search-es-default-0", namespace: NS }))).code).toBe(404), { what: "the evicted pod gone" });
  });
});
