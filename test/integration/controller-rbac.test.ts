// The real controller under its own ServiceAccount, deploy/rbac.yaml and deploy/admission-policy.yaml,
// not as admin: everything it does for a cluster succeeds, and nothing it asks is refused.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { installControllerRbac, loadManifest } from "../support/controller-rbac.ts";
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
  await core.createNamespacedConfigMap({ namespace: "elastic-system", body: { metadata: { name: "elastic-licensing" }, data: { eck_license_level: "enterprise" } } });
  const kubeconfig = join(cp.dir, "controller-sa.kubeconfig");
  writeFileSync(kubeconfig, identity.kubeConfig.exportConfig(), { mode: 0o600 });
  controller = await ControllerProcess.start({ kubeconfig, name: "controller-sa", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

test("under its own RBAC the controller enables a cluster, syncs the webhooks' caBundle, and is never refused", async () => {
  const admin = cp.kubeConfig();
  const custom = admin.makeApiClient(k8s.CustomObjectsApi);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  await custom.createNamespacedCustomObject({
    group: "elasticsearch.k8s.elastic.co",
    version: "v1",
    plural: "elasticsearches",
    namespace: "team",
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "search" }, spec: { http: { tls: { client: { authentication: true } } } } },
  });
  await eventually(async () => {
    const s: any = await custom.getNamespacedCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications", namespace: "team", name: "search" });
    expect(s.status?.phase).toBe("Enabled");
  }, { timeoutMs: 20_000, what: "Enabled under the controller's RBAC" });
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
