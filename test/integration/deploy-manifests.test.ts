// deploy/ against the real kube-apiserver: every manifest the kustomization lists is accepted by a
// server-side dry run, the controller's pod template passes the restricted Pod Security Standard, the
// webhook manifests equal what configurations.ts renders, and the controller's RBAC allows exactly
// what it needs (checked as the controller's own ServiceAccount, not as admin). The default install
// needs and creates nothing in ECK's namespace; deploy/eck/ (only next to ECK) adds the read of
// ECK's licence ConfigMap there, and is checked on its own.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { eventually } from "../support/eventually.ts";
import { ECK_NAMESPACE, ECK_RBAC, ensureNamespace, installControllerRbac, loadManifest, type ControllerIdentity } from "../support/controller-rbac.ts";
import { desiredMutatingWebhookConfiguration, desiredValidatingWebhookConfiguration, syncCaBundles } from "../../controller/admission/configurations.ts";
import { createServingCa } from "../../controller/pki/serving.ts";

const ROOT = join(import.meta.dir, "..", "..");
const DEPLOY = join(ROOT, "deploy");

let cp: ControlPlane;
let admin: k8s.KubeConfig;
let controller: ControllerIdentity;

const resources = (): string[] => (parse(readFileSync(join(DEPLOY, "kustomization.yaml"), "utf8")) as { resources: string[] }).resources;

async function status(action: () => Promise<unknown>): Promise<number> {
  try {
    await action();
    return 200;
  } catch (e) {
    return (e as { code?: number }).code ?? -1;
  }
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  admin = cp.kubeConfig();
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

describe("manifests", () => {
  test("the kustomization lists every manifest in deploy/ and deploy/crds/ but the per-namespace agent-networkpolicy.yaml", () => {
    const listed = resources();
    const expected = [
      ...["namespace", "serviceaccount", "rbac", "admission-policy", "service", "deployment", "pdb", "webhooks", "networkpolicy"].map((n) => `${n}.yaml`),
      "crds/mtls.es-mtls.io_clientauthentications.yaml",
    ];
    expect([...listed].sort()).toEqual(expected.sort());
    const onDisk = [...readdirSync(DEPLOY).filter((f) => f.endsWith(".yaml")), ...readdirSync(join(DEPLOY, "crds")).map((f) => `crds/${f}`)];
    expect(onDisk.sort()).toEqual([...expected, "kustomization.yaml", "agent-networkpolicy.yaml"].sort());
    // Without ECK, applied as well (on its own: an overlay listing ".." is a cycle to kustomize): es-mtls's own
    // Elasticsearch and Kibana CRDs and their policy. No kustomization in deploy/ names an ancestor directory.
    const kustomizations = ["kustomization.yaml", "eck/kustomization.yaml", "standalone-crds/kustomization.yaml"];
    expect(readdirSync(DEPLOY, { recursive: true }).map(String).filter((f) => f.endsWith("kustomization.yaml") && !f.startsWith("chart/")).sort()).toEqual(kustomizations.sort()); // chart/files/ links to these folders
    for (const k of kustomizations) {
      const dir = dirname(join(DEPLOY, k));
      for (const r of (parse(readFileSync(join(DEPLOY, k), "utf8")) as { resources: string[] }).resources) {
        const target = resolve(dir, r);
        expect(`${k}: ${r} ${dir.startsWith(target + "/") || dir === target ? "is" : "is not"} an ancestor`).toBe(`${k}: ${r} is not an ancestor`);
      }
    }
    const crds = (parse(readFileSync(join(DEPLOY, "standalone-crds", "kustomization.yaml"), "utf8")) as { resources: string[] }).resources;
    expect(crds.sort()).toEqual(["elasticsearch.k8s.elastic.co_elasticsearches.yaml", "kibana.k8s.elastic.co_kibanas.yaml", "unmanaged-by-eck-policy.yaml"]);
    expect(readdirSync(join(DEPLOY, "standalone-crds")).sort()).toEqual([...crds, "kustomization.yaml"].sort());
    // Next to ECK, applied as well (on its own: kustomize refuses a parent directory): the licence Role.
    const eck = parse(readFileSync(join(DEPLOY, "eck", "kustomization.yaml"), "utf8")) as { resources: string[] };
    expect(eck.resources).toEqual(["eck-licensing-rbac.yaml"]);
    expect(readdirSync(join(DEPLOY, "eck")).sort()).toEqual(["eck-licensing-rbac.yaml", "kustomization.yaml"]);
  });

  test("the default install names nothing in ECK's namespace; deploy/eck/ holds only its Role and RoleBinding there", () => {
    const objects = resources().flatMap((file) => loadManifest(file).map((o) => ({ file, o })));
    const inEck = objects.filter(({ o }) => o.metadata?.namespace === ECK_NAMESPACE || (o.kind === "Namespace" && o.metadata?.name === ECK_NAMESPACE));
    expect(inEck.map(({ file, o }) => `${file}: ${o.kind}/${o.metadata?.name}`)).toEqual([]);
    // Its only mention: the controller's --operator-namespace, where it looks for ECK (kube/eck-licensing.ts).
    const mentions = objects.filter(({ o }) => JSON.stringify(o).includes(ECK_NAMESPACE));
    expect(mentions.map(({ file, o }) => `${file}: ${o.kind}/${o.metadata?.name}`)).toEqual(["deployment.yaml: Deployment/es-mtls-controller"]);
    const env = (mentions[0]!.o as k8s.V1Deployment).spec!.template.spec!.containers[0]!.env!;
    expect(env.filter((e) => e.value === ECK_NAMESPACE).map((e) => e.name)).toEqual(["ES_MTLS_OPERATOR_NAMESPACE"]);
    const eck = loadManifest(ECK_RBAC);
    expect(eck.map((o) => `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`)).toEqual([
      `Role/${ECK_NAMESPACE}/es-mtls-controller-eck-license`,
      `RoleBinding/${ECK_NAMESPACE}/es-mtls-controller-eck-license`,
    ]);
  });

  test("every object is accepted by a server-side dry run (namespaces first; CRDs by dry-run apply)", async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
    const all = resources().flatMap((file) => loadManifest(file).map((object) => ({ file, object })));
    expect(all.length).toBeGreaterThanOrEqual(14);
    await ensureNamespace(admin, "es-mtls-system");
    const accepted: string[] = [];
    for (const { file, object } of all) {
      const id = `${file}: ${object.kind}/${object.metadata?.name}`;
      try {
        if (object.kind === "CustomResourceDefinition" || object.kind === "Namespace") {
          await objects.patch(object, undefined, "All", "es-mtls-test", true, k8s.PatchStrategy.ServerSideApply);
        } else {
          await objects.create(object, undefined, "All");
        }
        accepted.push(id);
      } catch (e) {
        throw new Error(`${id} refused: ${(e as { body?: string }).body ?? e}`);
      }
    }
    expect(accepted).toContain("deployment.yaml: Deployment/es-mtls-controller");
    expect(accepted).toContain("webhooks.yaml: MutatingWebhookConfiguration/es-mtls");
    expect(accepted).toContain("admission-policy.yaml: ValidatingAdmissionPolicy/es-mtls-controller-writes");
    // The dry run really validates: a broken copy is refused.
    const deployment = loadManifest("deployment.yaml")[0] as k8s.V1Deployment;
    deployment.spec!.template.spec!.containers[0]!.ports![0]!.containerPort = 70_000;
    expect(await status(() => objects.create(deployment, undefined, "All"))).toBe(422);
    // Nothing of it needed ECK's namespace, which does not exist.
    expect(await status(() => admin.makeApiClient(k8s.CoreV1Api).readNamespace({ name: ECK_NAMESPACE }))).toBe(404);
  });

  test("deploy/eck/'s Role and RoleBinding: refused without ECK's namespace, accepted by a server-side dry run where it exists", async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
    const [role] = loadManifest(ECK_RBAC);
    expect(await status(() => objects.create(role!, undefined, "All"))).toBe(404);
    await ensureNamespace(admin, ECK_NAMESPACE);
    for (const object of loadManifest(ECK_RBAC)) await objects.create(object, undefined, "All");
  });

  test("the optional agent-port NetworkPolicy (not in the kustomization) is accepted in a workload namespace", async () => {
    expect(resources()).not.toContain("agent-networkpolicy.yaml");
    const [policy, ...rest] = loadManifest("agent-networkpolicy.yaml");
    expect(rest).toEqual([]);
    expect(policy!.metadata?.namespace).toBeUndefined();
    await ensureNamespace(admin, "prod");
    await admin.makeApiClient(k8s.NetworkingV1Api).createNamespacedNetworkPolicy({ namespace: "prod", body: policy as k8s.V1NetworkPolicy, dryRun: "All" });
  });

  test("the controller's pod template passes the restricted Pod Security Standard its namespace enforces", async () => {
    const core = admin.makeApiClient(k8s.CoreV1Api);
    await k8s.KubernetesObjectApi.makeApiClient(admin).patch(loadManifest("namespace.yaml")[0]!, undefined, undefined, "es-mtls-test", true, k8s.PatchStrategy.ServerSideApply);
    await core.createNamespacedServiceAccount({ namespace: "es-mtls-system", body: { metadata: { name: "es-mtls-controller" } } }).catch(() => {});
    const template = (loadManifest("deployment.yaml")[0] as k8s.V1Deployment).spec!.template;
    const pod = { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name: "pss-check" }, spec: template.spec };
    await core.createNamespacedPod({ namespace: "es-mtls-system", body: pod, dryRun: "All" });
    // And the namespace really enforces it: a privileged pod is refused.
    const bad = { ...pod, spec: { ...template.spec!, containers: [{ ...template.spec!.containers[0]!, securityContext: { privileged: true } }] } };
    expect(await status(() => core.createNamespacedPod({ namespace: "es-mtls-system", body: bad, dryRun: "All" }))).toBe(403);
  });

  test("webhooks.yaml is what configurations.ts renders (no caBundle: the controller fills it in)", () => {
    const docs = parseAllDocuments(readFileSync(join(DEPLOY, "webhooks.yaml"), "utf8")).map((d) => d.toJS());
    expect(docs).toEqual(JSON.parse(JSON.stringify([desiredMutatingWebhookConfiguration(), desiredValidatingWebhookConfiguration()])));
  });
});

describe("controller RBAC (as the controller's ServiceAccount)", () => {
  beforeAll(async () => {
    // The default install: no deploy/eck/ (the dry run above created nothing).
    controller = await installControllerRbac(cp);
  });

  async function can(verb: string, resource: { group?: string; resource: string; subresource?: string; namespace?: string; name?: string }): Promise<boolean> {
    const api = controller.kubeConfig.makeApiClient(k8s.AuthorizationV1Api);
    const review = await api.createSelfSubjectAccessReview({ body: { spec: { resourceAttributes: { verb, ...resource } } } });
    return review.status!.allowed;
  }

  test("the token authenticates as the controller's ServiceAccount", async () => {
    const review = await controller.kubeConfig.makeApiClient(k8s.AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
    expect(review.status!.userInfo!.username).toBe(controller.username);
  });

  test("allows what the controller needs", async () => {
    const needed: Array<[string, Parameters<typeof can>[1]]> = [
      ["watch", { group: "elasticsearch.k8s.elastic.co", resource: "elasticsearches" }],
      ["patch", { group: "elasticsearch.k8s.elastic.co", resource: "elasticsearches", namespace: "prod" }],
      ["list", { group: "kibana.k8s.elastic.co", resource: "kibanas" }],
      ["create", { group: "mtls.es-mtls.io", resource: "clientauthentications", namespace: "prod" }],
      ["patch", { group: "mtls.es-mtls.io", resource: "clientauthentications", subresource: "status", namespace: "prod" }],
      ["watch", { resource: "secrets" }],
      ["create", { resource: "secrets", namespace: "prod" }],
      ["delete", { resource: "secrets", namespace: "prod" }],
      // Client CAs live in the controller's namespace; a rotation is a compare-and-swap update.
      ["update", { resource: "secrets", namespace: "es-mtls-system", name: "client-ca-prod-quickstart-0123456789" }],
      ["watch", { resource: "pods" }],
      ["create", { resource: "pods", subresource: "eviction", namespace: "prod" }],
      ["create", { resource: "events", namespace: "prod" }],
      ["create", { group: "coordination.k8s.io", resource: "leases", namespace: "es-mtls-system" }],
      ["update", { group: "coordination.k8s.io", resource: "leases", namespace: "es-mtls-system", name: "es-mtls-controller" }],
      // Whether ECK is installed: its namespace, watched by name (kube/eck-licensing.ts).
      ["list", { resource: "namespaces", name: ECK_NAMESPACE }],
      ["patch", { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "es-mtls" }],
      ["get", { group: "admissionregistration.k8s.io", resource: "validatingwebhookconfigurations", name: "es-mtls" }],
      // The active-namespace label for the pod webhook's namespaceSelector.
      ["watch", { resource: "namespaces" }],
      ["patch", { resource: "namespaces", name: "prod" }],
      // The leader labels its own pod; Secrets are read by name cluster-wide (kube/secret-reader.ts).
      ["get", { resource: "pods", namespace: "es-mtls-system", name: "es-mtls-controller-0" }],
      ["patch", { resource: "pods", namespace: "es-mtls-system", name: "es-mtls-controller-0" }],
      ["get", { resource: "secrets", namespace: "prod", name: "quickstart-es-elastic-user" }],
    ];
    const denied = [];
    for (const [verb, r] of needed) if (!(await can(verb, r))) denied.push(`${verb} ${JSON.stringify(r)}`);
    expect(denied).toEqual([]);
  });

  test("refuses what it does not need", async () => {
    const forbidden: Array<[string, Parameters<typeof can>[1]]> = [
      ["delete", { resource: "pods", namespace: "prod" }],
      ["patch", { resource: "pods", namespace: "prod" }],
      ["create", { resource: "pods", namespace: "prod" }],
      // No update of Secrets in workload namespaces: there es-mtls only applies, and no CA lives there.
      ["update", { resource: "secrets", namespace: "prod" }],
      ["update", { group: "coordination.k8s.io", resource: "leases", namespace: "es-mtls-system", name: "someone-else" }],
      ["create", { group: "coordination.k8s.io", resource: "leases", namespace: "prod" }],
      ["get", { resource: "configmaps", namespace: ECK_NAMESPACE, name: "other" }],
      ["get", { resource: "configmaps", namespace: "prod", name: "elastic-licensing" }],
      // ECK's licence only with deploy/eck/ (below), never from the default install.
      ["get", { resource: "configmaps", namespace: ECK_NAMESPACE, name: "elastic-licensing" }],
      ["list", { resource: "configmaps", namespace: ECK_NAMESPACE, name: "elastic-licensing" }],
      ["patch", { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations", name: "istio-sidecar-injector" }],
      ["create", { group: "admissionregistration.k8s.io", resource: "mutatingwebhookconfigurations" }],
      ["create", { group: "authentication.k8s.io", resource: "tokenreviews" }],
      ["patch", { group: "kibana.k8s.elastic.co", resource: "kibanas", namespace: "prod" }],
      ["delete", { group: "elasticsearch.k8s.elastic.co", resource: "elasticsearches", namespace: "prod" }],
      ["create", { group: "rbac.authorization.k8s.io", resource: "clusterrolebindings" }],
      ["create", { group: "apps", resource: "deployments", namespace: "prod" }],
      ["create", { resource: "namespaces" }],
      ["delete", { resource: "namespaces", name: "prod" }],
      ["update", { resource: "namespaces", name: "prod" }],
      // Narrowed to the calls the code makes (issue 18 finding 6).
      ["get", { resource: "namespaces", name: "prod" }],
      ["get", { resource: "pods", namespace: "prod", name: "quickstart-es-default-0" }],
      ["update", { group: "mtls.es-mtls.io", resource: "clientauthentications", subresource: "status", namespace: "prod" }],
      ["get", { group: "mtls.es-mtls.io", resource: "clientauthentications", namespace: "prod" }],
      ["patch", { resource: "events", namespace: "prod" }],
      ["create", { group: "events.k8s.io", resource: "events", namespace: "prod" }],
      ["patch", { group: "coordination.k8s.io", resource: "leases", namespace: "es-mtls-system", name: "es-mtls-controller" }],
      ["update", { resource: "secrets", namespace: "prod", name: "quickstart-es-client-trust-bundle" }],
    ];
    const allowed = [];
    for (const [verb, r] of forbidden) if (await can(verb, r)) allowed.push(`${verb} ${JSON.stringify(r)}`);
    expect(allowed).toEqual([]);
  });

  test("real calls under its RBAC: caBundle sync, ECK's namespace by name, JWKS, cluster-wide watches", async () => {
    const adminObjects = k8s.KubernetesObjectApi.makeApiClient(admin);
    for (const object of loadManifest("webhooks.yaml")) await adminObjects.create(object);

    const ca = await createServingCa();
    expect((await syncCaBundles(controller.kubeConfig, ca.certificate.toString("pem"))).changed).toHaveLength(2);
    expect((await syncCaBundles(controller.kubeConfig, ca.certificate.toString("pem"))).changed).toEqual([]);

    const core = controller.kubeConfig.makeApiClient(k8s.CoreV1Api);
    // How the controller tells whether ECK is installed: a list of namespaces by name.
    const eckNamespaces = await core.listNamespace({ fieldSelector: `metadata.name=${ECK_NAMESPACE}` });
    expect(eckNamespaces.items.map((n) => n.metadata!.name)).toEqual([ECK_NAMESPACE]);
    // The default install may not read ECK's licence, even where ECK's namespace exists.
    expect(await status(() => core.listNamespacedConfigMap({ namespace: ECK_NAMESPACE, fieldSelector: "metadata.name=elastic-licensing" }))).toBe(403);

    // JWKS for verifying agents' tokens: granted to every ServiceAccount by system:service-account-issuer-discovery.
    const jwks = await cp.get("/openid/v1/jwks", { token: controller.token });
    expect(jwks.status).toBe(200);
    expect(JSON.parse(jwks.body).keys.length).toBeGreaterThan(0);

    const custom = controller.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
    // A fresh CRD's watch cache may answer 429 "storage is (re)initializing" for a moment (client-go retries too).
    await eventually(() => custom.listClusterCustomObject({ group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches" }), {
      what: "cluster-wide list of Elasticsearch",
    });
    await core.listPodForAllNamespaces();
    await core.listSecretForAllNamespaces({ labelSelector: "eck.k8s.elastic.co/client-certificate=true" });
    expect(await status(() => core.listNamespacedConfigMap({ namespace: "default" }))).toBe(403);
  });
});

describe("deploy/eck/: the controller's read of ECK's licence (only next to ECK)", () => {
  let eck: ControllerIdentity;
  beforeAll(async () => {
    eck = await installControllerRbac(cp, { eck: true });
    await admin.makeApiClient(k8s.CoreV1Api).createNamespacedConfigMap({
      namespace: ECK_NAMESPACE,
      body: { metadata: { name: "elastic-licensing" }, data: { eck_license_level: "enterprise" } },
    });
  });

  test("allows get, list and watch of elastic-licensing in ECK's namespace, and no other ConfigMap", async () => {
    const core = eck.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const licensing = await core.readNamespacedConfigMap({ name: "elastic-licensing", namespace: ECK_NAMESPACE });
    expect(licensing.data!.eck_license_level).toBe("enterprise");
    // An informer's list by name works with a field selector; the other ConfigMaps stay out of reach.
    const listed = await core.listNamespacedConfigMap({ namespace: ECK_NAMESPACE, fieldSelector: "metadata.name=elastic-licensing" });
    expect(listed.items.map((c) => c.metadata!.name)).toEqual(["elastic-licensing"]);
    expect(await status(() => core.listNamespacedConfigMap({ namespace: ECK_NAMESPACE }))).toBe(403);
    expect(await status(() => core.readNamespacedConfigMap({ name: "other", namespace: ECK_NAMESPACE }))).toBe(403);
    expect(await status(() => core.listNamespacedConfigMap({ namespace: "default" }))).toBe(403);
  });
});
