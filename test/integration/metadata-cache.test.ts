// Issue 9 finding 8 on the real apiserver: the cache of labelled client-certificate Secrets (a label
// anyone may set) holds metadata only. Its list and watch ask for PartialObjectMetadata, so no
// Secret's data ever reaches the controller's memory through it; a change of data still arrives as
// an update (a new resourceVersion), which is what triggers a bundle rebuild. The same holds for
// Secrets with es-mtls's managed-by label (anyone may set it) outside the controller's namespace;
// CA Secrets are cached whole, from the controller's namespace only.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { Caches, type Kind } from "../../controller/kube/informers.ts";
import { eventually } from "../support/eventually.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { clientCertLabels } from "../support/client-cert-secret.ts";

const NS = "meta";
const CONTROLLER_NS = "es-mtls-system";
const MANAGED = { "app.kubernetes.io/managed-by": "es-mtls" };
let cp: ControlPlane;
let caches: Caches;
let core: k8s.CoreV1Api;
const seen: Array<{ kind: Kind; type: string; obj: k8s.KubernetesObject }> = [];

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await prepareCluster(core, [NS]);
  // Present before the cache starts: it arrives through the list.
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "listed", labels: clientCertLabels("es", NS) }, stringData: { "tls.crt": "listed-data", "tls.key": "listed-key" } } });
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "planted-managed", labels: MANAGED }, stringData: { payload: "planted-data" } } });
  await core.createNamespacedSecret({ namespace: CONTROLLER_NS, body: { metadata: { name: "a-ca", labels: MANAGED }, stringData: { "tls.key": "ca-key" } } });
  caches = new Caches(cp.kubeConfig(), "elastic-system", CONTROLLER_NS, (kind, obj, type) => seen.push({ kind, type, obj }));
  await caches.start();
}, 900_000);

afterAll(async () => {
  await caches?.stop();
  await cp?.stop();
});

test("labelled Secrets are cached without data, from the list and from the watch; a data change is an update with a new resourceVersion", async () => {
  await eventually(() => expect(caches.clientCertSecrets.get("listed", NS)).toBeDefined(), { timeoutMs: 10_000, what: "listed Secret cached" });
  const created = await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "watched", labels: clientCertLabels("es", NS) }, stringData: { "tls.crt": "watched-data" } } });
  await eventually(() => expect(caches.clientCertSecrets.get("watched", NS)?.metadata?.resourceVersion).toBe(created.metadata!.resourceVersion), { timeoutMs: 10_000, what: "watched Secret cached" });
  await core.patchNamespacedSecret({ namespace: NS, name: "watched", body: { data: { "tls.crt": btoa("changed-data") } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  const update = await eventually(() => {
    const u = seen.find((e) => e.kind === "clientCertSecret" && e.type === "update" && e.obj.metadata?.name === "watched");
    expect(u).toBeDefined();
    return u!;
  }, { timeoutMs: 10_000, what: "the data change as an update" });
  expect(update.obj.metadata!.resourceVersion).not.toBe(created.metadata!.resourceVersion);
  for (const s of caches.clientCertSecrets.list()) {
    expect(s.metadata?.labels?.["eck.k8s.elastic.co/client-certificate"]).toBe("true");
    expect({ name: s.metadata?.name, data: s.data, stringData: s.stringData, type: s.type }).toEqual({ name: s.metadata?.name, data: undefined, stringData: undefined, type: undefined });
  }
  for (const e of seen.filter((x) => x.kind === "clientCertSecret")) expect(JSON.stringify(e.obj)).not.toContain(btoa("changed-data"));
  expect(caches.clientCertSecrets.list().length).toBe(2);
});

test("Secrets a tenant labels managed-by=es-mtls are cached without data; CA Secrets whole, from the controller's namespace only; own data read once per resourceVersion", async () => {
  const watched = await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "watched-managed", labels: MANAGED }, stringData: { payload: "watched-managed-data" } } });
  await eventually(() => expect(caches.managedSecrets.get("watched-managed", NS)?.metadata?.resourceVersion).toBe(watched.metadata!.resourceVersion), { timeoutMs: 10_000, what: "watched managed Secret cached" });
  await eventually(() => expect(caches.caSecrets.get("a-ca", CONTROLLER_NS)).toBeDefined(), { timeoutMs: 10_000, what: "CA Secret cached" });
  expect(caches.managedSecrets.get("planted-managed", NS)).toBeDefined();
  for (const s of caches.managedSecrets.list()) expect({ name: s.metadata?.name, data: s.data, type: s.type }).toEqual({ name: s.metadata?.name, data: undefined, type: undefined });
  for (const e of seen.filter((x) => x.kind === "managedSecret")) {
    expect(JSON.stringify(e.obj)).not.toContain(btoa("watched-managed-data"));
    expect(JSON.stringify(e.obj)).not.toContain(btoa("planted-data"));
  }
  // Nothing was read on demand: the reconciler reads only what passes the ownership check.
  expect(caches.managedSecrets.data.reads).toBe(0);
  expect(caches.managedSecrets.data.size).toBe(0);
  expect(caches.caSecrets.get("a-ca", CONTROLLER_NS)?.data?.["tls.key"]).toBe(btoa("ca-key"));
  expect(caches.caSecrets.list().map((s) => s.metadata?.namespace)).toEqual([CONTROLLER_NS]);
  // On demand: read once per resourceVersion, forgotten on delete.
  const meta = caches.managedSecrets.get("watched-managed", NS)!;
  expect((await caches.managedSecrets.load(meta))?.data?.payload).toBe(btoa("watched-managed-data"));
  expect((await caches.managedSecrets.load(meta))?.data?.payload).toBe(btoa("watched-managed-data"));
  expect(caches.managedSecrets.data.reads).toBe(1);
  await core.deleteNamespacedSecret({ namespace: NS, name: "watched-managed" });
  await eventually(() => expect(caches.managedSecrets.data.size).toBe(0), { timeoutMs: 10_000, what: "kept data forgotten on delete" });
});
