// The real controller under its own ServiceAccount, deploy/rbac.yaml and deploy/admission-policy.yaml,
// not as admin: everything it does for a cluster succeeds, and nothing it asks is refused. The
// default install without ECK (no elastic-system, no licence ConfigMap) enables a cluster; next to
// ECK, without deploy/eck/'s Role, the licence cannot be read and enabling is refused, said so in
// the status and the log (never taken for "no ECK"); with it, ECK's licence rule applies.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { applyManifest, ECK_NAMESPACE, ECK_RBAC, installControllerRbac, loadManifest } from "../support/controller-rbac.ts";
import { setEckLicense } from "../support/cluster-setup.ts";
import { clientCaSecretName } from "../../controller/names.ts";

let cp: ControlPlane;
let controller: ControllerProcess;
let username: string;

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, controllerManager: false });
  const identity = await installControllerRbac(cp);
  username = identity.username;
  const admin = cp.kubeConfig();
  const objects = k8s.KubernetesObjectApi.makeApiClient(admin);
  for (const o of loadManifest("webhooks.yaml")) await objects.create(o);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "team" } } });
  const kubeconfig = join(cp.dir, "controller-sa.kubeconfig");
  writeFileSync(kubeconfig, identity.kubeConfig.exportConfig(), { mode: 0o600 });
  controller = await ControllerProcess.start({ kubeconfig, name: "controller-sa", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const createEs = (name: string) =>
  cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    group: "elasticsearch.k8s.elastic.co",
    version: "v1",
    plural: "elasticsearches",
    namespace: "team",
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name }, spec: { http: { tls: { client: { authentication: true } } } } },
  });

async function statusOf(name: string): Promise<any> {
  const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  return ((await custom.getNamespacedCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications", namespace: "team", name })) as any).status;
}

const condition = (status: any, type: string) => status?.conditions?.find((c: any) => c.type === type);

test("under its own RBAC, without ECK, the controller enables a cluster, syncs the webhooks' caBundle, and is never refused", async () => {
  const admin = cp.kubeConfig();
  const custom = admin.makeApiClient(k8s.CustomObjectsApi);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  // The default install created nothing in ECK's namespace, and nothing else made it.
  await expect(core.readNamespace({ name: ECK_NAMESPACE })).rejects.toMatchObject({ code: 404 });
  await createEs("search");
  const status = await eventually(async () => {
    const s = await statusOf("search");
    expect(s?.phase).toBe("Enabled");
    return s;
  }, { timeoutMs: 20_000, what: "Enabled under the controller's RBAC" });
  expect(condition(status, "LicenseValid")).toMatchObject({ status: "True", reason: "NoLicenseRequired" });
  for (const name of ["search-es-internal-client-cert", "search-es-client-trust-bundle"]) await core.readNamespacedSecret({ name, namespace: "team" });
  await core.readNamespacedSecret({ name: clientCaSecretName("team", "search"), namespace: "es-mtls-system" });
  const es: any = await custom.getNamespacedCustomObject({ group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches", namespace: "team", name: "search" });
  expect(es.metadata.annotations["eck.k8s.elastic.co/client-authentication-required"]).toBe("true");
  const serving = await core.readNamespacedSecret({ name: "es-mtls-controller-serving", namespace: "es-mtls-system" });
  const mwc = await admin.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "es-mtls" });
  await eventually(async () => {
    const m = await admin.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "es-mtls" });
    expect(atob(m.webhooks![0]!.clientConfig.caBundle!).trim()).toBe(atob(serving.data!["ca.crt"]!).trim());
  }, { timeoutMs: 15_000, what: "caBundle synced" });
  expect(mwc.metadata?.name).toBe("es-mtls");
  // Every write it made succeeded (the audit log only records writes).
  // (Not the dry run by which installControllerRbac waits for the admission policy: it is refused on purpose.)
  const writes = cp.auditEvents().filter((e) => e.user.username === username && e.stage === "ResponseComplete" && !e.requestURI.includes("dryRun="));
  expect(writes.length).toBeGreaterThan(5);
  // Among them the writes deploy/admission-policy.yaml checks (installControllerRbac waited until it is enforced).
  const what = new Set(writes.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.namespace ?? ""}`));
  for (const w of ["patch namespaces/team", "patch secrets/team", "create secrets/es-mtls-system"]) expect(what).toContain(w);
  const refused = writes.filter((e) => e.responseStatus?.code === 403);
  expect(refused.map((e) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name}`)).toEqual([]);
  expect(controller.logs.filter((l) => /forbidden|HTTP-Code: 403/i.test(l))).toEqual([]);
});

test("next to ECK without deploy/eck/ the licence is unknown (403): enabling is refused and said so, never taken for no ECK; with deploy/eck/ ECK's rule applies", async () => {
  const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  // ECK's namespace and licence appear; the controller may not read the ConfigMap (no Role yet).
  await setEckLicense(core, "enterprise");
  // An active cluster keeps its trust (never cut off), and says why its licence is in doubt. Waited
  // for first: it shows the controller has seen ECK's namespace, so the cluster created next is judged
  // under ECK's rule (created before that, it was enabled as on the no-ECK path: a run saw it).
  const search = await eventually(async () => {
    const s = await statusOf("search");
    expect(condition(s, "LicenseValid")?.reason).toBe("LicenseUnknown");
    return s;
  }, { timeoutMs: 20_000, what: "the active cluster's LicenseValid" });
  expect(search.phase).toBe("Enabled");
  await createEs("second");
  const blocked = await eventually(async () => {
    const s = await statusOf("second");
    expect(s?.phase).toBe("Blocked");
    // "Not read yet" for a moment, then the apiserver's refusal.
    expect(condition(s, "LicenseValid")?.message).toContain(`ConfigMap ${ECK_NAMESPACE}/elastic-licensing cannot be read (forbidden)`);
    return s;
  }, { timeoutMs: 20_000, what: "Blocked while ECK's licence cannot be read (forbidden)" });
  expect(condition(blocked, "Ready")).toMatchObject({ status: "False", reason: "LicenseUnknown" });
  expect(condition(blocked, "LicenseValid")).toMatchObject({ status: "Unknown", reason: "LicenseUnknown" });
  expect(condition(blocked, "LicenseValid").message).toContain("apply deploy/eck/");
  expect(controller.logs.some((l) => l.includes('"level":"warn"') && l.includes("ECK licensing unknown"))).toBe(true);

  await applyManifest(cp, ECK_RBAC);
  const enabled = await eventually(async () => {
    const s = await statusOf("second");
    expect(s?.phase).toBe("Enabled");
    return s;
  }, { timeoutMs: 45_000, what: "Enabled by ECK's enterprise licence once it can be read" });
  expect(condition(enabled, "LicenseValid")).toMatchObject({ status: "True", reason: "Enterprise" });
  expect(condition(enabled, "LicenseValid").message).toContain("ECK's licence rule");
});
