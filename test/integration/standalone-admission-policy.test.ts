// deploy/standalone-crds/unmanaged-by-eck-policy.yaml on the real kube-apiserver: an object of
// es-mtls's standalone Elasticsearch and Kibana CRDs must carry eck.k8s.elastic.co/managed: "false"
// (so an ECK installed later skips it: eck-installed-later.test.ts), and keeps it; under ECK's own
// CRDs the policy stands aside, so an Elasticsearch meant for ECK never needs it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import { ECK_MANAGED_ANNOTATION } from "../../controller/names.ts";
import { applyManifest } from "../support/controller-rbac.ts";
import { eventually } from "../support/eventually.ts";
import { eckCrdsFile } from "../eck/module.ts";
import { replaceWithEckCrds } from "../eck/crds.ts";

const ns = "standalone";
const POLICY_FILE = "standalone-crds/unmanaged-by-eck-policy.yaml";
const UNMANAGED = { [ECK_MANAGED_ANNOTATION]: "false" };
let cp: ControlPlane;
let custom: k8s.CustomObjectsApi;
const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

const es = (name: string, annotations?: Record<string, string>) => ({
  apiVersion: "elasticsearch.k8s.elastic.co/v1",
  kind: "Elasticsearch",
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 1 }] },
});
const kb = (name: string, annotations?: Record<string, string>) => ({
  apiVersion: "kibana.k8s.elastic.co/v1",
  kind: "Kibana",
  metadata: { name, ...(annotations ? { annotations } : {}) },
  spec: { version: "9.4.0", elasticsearchRef: { name: "search" } },
});

/** 200, or the refusal's HTTP status and message. */
async function outcome(action: () => Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await action();
    return { code: 200, message: "" };
  } catch (e) {
    return { code: (e as { code?: number }).code ?? -1, message: String((e as { body?: unknown }).body ?? e) };
  }
}

const createEs = (name: string, annotations?: Record<string, string>, dryRun?: "All") => custom.createNamespacedCustomObject({ ...ES, namespace: ns, body: es(name, annotations), dryRun });
const createKb = (name: string, annotations?: Record<string, string>, dryRun?: "All") => custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: kb(name, annotations), dryRun });

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await cp.kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: ns } } });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

test("without the policy an unannotated standalone object is admitted; with it, creating one is refused, and an update may not drop the annotation", async () => {
  // Created before the policy: what the controller reports instead (UnmanagedByECK).
  await createEs("legacy");
  expect((await outcome(() => createKb("plain", undefined, "All"))).code).toBe(200);
  await applyManifest(cp, POLICY_FILE);
  const refused = await eventually(async () => {
    const r = await outcome(() => createEs("plain", undefined, "All"));
    expect(r.code).toBe(422);
    return r;
  }, { timeoutMs: 20_000, what: "the policy enforced" });
  expect(refused.message).toContain("es-mtls-standalone-unmanaged-by-eck");
  expect(refused.message).toContain(`${ECK_MANAGED_ANNOTATION}: \\"false\\"`);
  await eventually(async () => expect((await outcome(() => createKb("plain", undefined, "All"))).code).toBe(422), { timeoutMs: 20_000, what: "the Kibana binding enforced" });
  expect((await outcome(() => createEs("other", { [ECK_MANAGED_ANNOTATION]: "true" }, "All"))).code).toBe(422);

  await createEs("search", UNMANAGED);
  await createKb("search", UNMANAGED);
  const drop = { metadata: { annotations: { [ECK_MANAGED_ANNOTATION]: null } } };
  expect((await outcome(() => custom.patchNamespacedCustomObject({ ...ES, namespace: ns, name: "search", body: drop }, merge))).code).toBe(422);
  expect((await outcome(() => custom.patchNamespacedCustomObject({ ...KB, namespace: ns, name: "search", body: drop }, merge))).code).toBe(422);
  // Other updates of an annotated object, and of one created before the policy (the controller's own writes), pass.
  const label = { metadata: { labels: { team: "a" } } };
  expect((await outcome(() => custom.patchNamespacedCustomObject({ ...ES, namespace: ns, name: "search", body: label }, merge))).code).toBe(200);
  expect((await outcome(() => custom.patchNamespacedCustomObject({ ...ES, namespace: ns, name: "legacy", body: label }, merge))).code).toBe(200);
}, 60_000);

const ECK_CRDS = eckCrdsFile("the standalone policy under ECK's CRDs");

test.skipIf(!ECK_CRDS)("under ECK's CRDs (installed over the standalone ones) the policy stands aside: an Elasticsearch and a Kibana meant for ECK need no annotation", async () => {
  await replaceWithEckCrds(cp.kubeConfig(), ECK_CRDS!);
  // The binding's parameter (the CRD) is read through an informer: poll until the label's removal is seen.
  await eventually(async () => expect((await outcome(() => createEs("for-eck", undefined, "All"))).code).toBe(200), { timeoutMs: 20_000, what: "ECK's Elasticsearch admitted" });
  await eventually(async () => expect((await outcome(() => createKb("for-eck", undefined, "All"))).code).toBe(200), { timeoutMs: 20_000, what: "ECK's Kibana admitted" });
}, 60_000);
