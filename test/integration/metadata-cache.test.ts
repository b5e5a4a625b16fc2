// Issue 9 finding 8 on the real apiserver: the cache of labelled client-certificate Secrets (a label
// anyone may set) holds metadata only. Its list and watch ask for PartialObjectMetadata, so no
// Secret's data ever reaches the controller's memory through it; a change of data still arrives as
// an update (a new resourceVersion), which is what triggers a bundle rebuild. The same holds for
// Secrets with es-mtls's managed-by label (anyone may set it) outside the controller's namespace;
// CA Secrets are cached whole, from the controller's namespace only. Issue 21: every initial list
// is paged (`limit`, audit log as the witness) and nothing cached keeps managedFields.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { Caches, METADATA_LIST, type Kind } from "../../controller/kube/informers.ts";
import { LIST_PAGE_SIZE, listInPages } from "../../controller/kube/paged-list.ts";
import { eventually } from "../support/eventually.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { clientCertLabels } from "../support/client-cert-secret.ts";
import { ELASTICSEARCH, KIBANA } from "../../controller/resources.ts";

const NS = "meta";
const CONTROLLER_NS = "es-mtls-system";
const MANAGED = { "app.kubernetes.io/managed-by": "es-mtls" };
let cp: ControlPlane;
let caches: Caches;
let core: k8s.CoreV1Api;
const seen: Array<{ kind: Kind; type: string; obj: k8s.KubernetesObject }> = [];

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, auditLists: true, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await prepareCluster(core, [NS]);
  // Present before the cache starts: it arrives through the list.
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "listed", labels: clientCertLabels("es", NS) }, stringData: { "tls.crt": "listed-data", "tls.key": "listed-key" } } });
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "planted-managed", labels: MANAGED }, stringData: { payload: "planted-data" } } });
  await core.createNamespacedSecret({ namespace: CONTROLLER_NS, body: { metadata: { name: "a-ca", labels: MANAGED }, stringData: { "tls.key": "ca-key" } } });
  await core.createNamespacedServiceAccount({ namespace: NS, body: { metadata: { name: "default" } } }).catch(() => {});
  await core.createNamespacedPod({ namespace: NS, body: bulkyPod("listed-pod") });
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

/** A pod of a cluster carrying what a tenant may add and the controller never reads: ~200 KiB of annotations and env, scheduling and resources. */
function bulkyPod(name: string): k8s.V1Pod {
  const big = "x".repeat(100 * 1024);
  return {
    metadata: {
      name,
      labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "es", app: "tenant-chosen" },
      annotations: { "tenant.example/blob": big, "mtls.es-mtls.io/health-http-ca-secret": "kept" },
    },
    spec: {
      nodeSelector: { "tenant.example/zone": "a" },
      tolerations: [{ key: "tenant.example/taint", operator: "Exists" }],
      containers: [{
        name: "elasticsearch",
        image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0",
        env: [{ name: "BLOB", value: big }],
        resources: { limits: { memory: "2Gi" } },
        readinessProbe: { exec: { command: ["bash", "-c", "curl -s https://127.0.0.1:9200"] } },
        volumeMounts: [{ name: "certs", mountPath: "/usr/share/elasticsearch/config/certs" }],
      }],
      volumes: [{ name: "certs", secret: { secretName: "es-certs", defaultMode: 0o440 } }],
    },
  };
}

test("issue 18 finding 8: pods, Elasticsearches and Kibanas are cached with only the fields the controller reads (listed and watched): no managedFields, no tenant annotations, env or podTemplate", async () => {
  await core.createNamespacedPod({ namespace: NS, body: bulkyPod("watched-pod") });
  const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const podTemplate = { spec: { containers: [{ name: "elasticsearch", env: [{ name: "BLOB", value: "y".repeat(50 * 1024) }] }] } };
  await custom.createNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "es", annotations: { "tenant.example/blob": "z".repeat(50 * 1024) } }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 3, config: { "node.roles": ["master"] }, podTemplate }] } } });
  await custom.createNamespacedCustomObject({ ...KIBANA, namespace: NS, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { version: "9.4.0", count: 1, elasticsearchRef: { name: "es" }, podTemplate } } });
  await eventually(() => {
    for (const n of ["listed-pod", "watched-pod"]) expect(caches.pods.get(n, NS)).toBeDefined();
    expect(caches.elasticsearch.get("es", NS)).toBeDefined();
    expect(caches.kibana.get("kb", NS)).toBeDefined();
  }, { timeoutMs: 10_000, what: "pods, Elasticsearch and Kibana cached" });
  for (const n of ["listed-pod", "watched-pod"]) {
    const stored = await core.readNamespacedPod({ name: n, namespace: NS });
    expect(stored.metadata?.managedFields?.length).toBeGreaterThan(0); // what the apiserver sends
    const p = caches.pods.get(n, NS)!;
    expect(JSON.stringify(p).length).toBeLessThan(2048);
    expect(p.metadata?.managedFields).toBeUndefined();
    expect(p.metadata?.annotations).toEqual({ "mtls.es-mtls.io/health-http-ca-secret": "kept" });
    expect(p.metadata?.labels?.app).toBe("tenant-chosen");
    expect(p.metadata?.uid).toBeDefined();
    expect(p.spec?.nodeSelector).toBeUndefined();
    expect(p.spec?.tolerations).toBeUndefined();
    expect(p.spec?.containers).toEqual([{ name: "elasticsearch", readinessProbe: stored.spec!.containers[0]!.readinessProbe!, volumeMounts: stored.spec!.containers[0]!.volumeMounts! }]);
    expect(p.spec?.volumes?.[0]).toEqual({ name: "certs", secret: { secretName: "es-certs" } });
    expect(JSON.parse(JSON.stringify(p.spec?.volumes?.slice(1)))).toEqual(stored.spec!.volumes!.slice(1).map((v) => ({ name: v.name }))); // the token volume: projected, not read
    expect(p.status?.phase).toBe("Pending");
  }
  const es = caches.elasticsearch.get("es", NS)!;
  expect(JSON.stringify(es).length).toBeLessThan(1024);
  expect(es.metadata.annotations).toBeUndefined();
  expect(es.spec).toEqual({ version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 3, config: { "node.roles": ["master"] } }] });
  const kb = caches.kibana.get("kb", NS)!;
  expect(kb.spec).toEqual({ count: 1, elasticsearchRef: { name: "es" } });
  expect(kb.metadata.managedFields).toBeUndefined();
  // The change handler sees the same kept objects.
  for (const e of seen.filter((x) => x.kind === "pod" || x.kind === "elasticsearch" || x.kind === "kibana")) expect(JSON.stringify(e.obj)).not.toContain("xxxxxxxxxx");
});

test("issue 21: every cache lists in pages of LIST_PAGE_SIZE, and a list longer than a page arrives whole, from one snapshot", async () => {
  // Lists by this test's user (the caches'; the apiserver's own, as system:apiserver, aside).
  const cacheLists = () => cp.auditEvents().filter((e) => e.verb === "list" && e.stage === "ResponseComplete" && !e.user.username.startsWith("system:"));
  // The pods', Secrets', Elasticsearches', Kibanas', ClientAuthentications', namespaces' and the licence's lists.
  await eventually(() => expect(cacheLists().length).toBeGreaterThanOrEqual(9), { timeoutMs: 10_000, what: "the caches' lists in the audit log" });
  for (const e of cacheLists()) expect(e.requestURI).toContain(`limit=${LIST_PAGE_SIZE}`);

  const PAGED = "paged";
  await core.createNamespace({ body: { metadata: { name: PAGED } } });
  for (let i = 0; i < 5; i++) await core.createNamespacedSecret({ namespace: PAGED, body: { metadata: { name: `s-${i}`, labels: { paged: "true" } }, stringData: { v: String(i) } } });
  const before = cacheLists().length;
  const list = await listInPages((page) => core.listNamespacedSecret({ namespace: PAGED, labelSelector: "paged=true", ...page }), (s) => ({ metadata: { name: s.metadata!.name } }), 2);
  expect(list.items.map((s) => s.metadata!.name)).toEqual(["s-0", "s-1", "s-2", "s-3", "s-4"]);
  expect(Number(list.metadata?.resourceVersion)).toBeGreaterThan(0);
  const pages = cacheLists().slice(before).filter((e) => e.objectRef?.namespace === PAGED);
  expect(pages.length).toBe(3);
  expect(pages.every((e) => e.requestURI.includes("limit=2"))).toBe(true);
  expect(pages.filter((e) => e.requestURI.includes("continue=")).length).toBe(2);

  // An empty metadata-only list has `items: null`: still a list, of nothing (not a failure the cache retries).
  const none = await listInPages((page) => core.listSecretForAllNamespaces({ labelSelector: "matches=nothing", ...page }, k8s.setHeaderOptions("Accept", METADATA_LIST)));
  expect(none.items).toEqual([]);
  expect(Number(none.metadata?.resourceVersion)).toBeGreaterThan(0);
});

test("issue 21: no cache keeps managedFields; labelled Secrets keep only annotations of ECK's and es-mtls's prefixes", async () => {
  await core.patchNamespacedSecret({ namespace: NS, name: "listed", body: { metadata: { annotations: { "tenant.example/big": "x".repeat(4096), "mtls.es-mtls.io/kept": "yes" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  await eventually(() => expect(caches.clientCertSecrets.get("listed", NS)?.metadata?.annotations).toEqual({ "mtls.es-mtls.io/kept": "yes" }), { timeoutMs: 10_000, what: "annotated Secret cached" });
  const all = [caches.clientCertSecrets, caches.managedSecrets, caches.caSecrets, caches.pods, caches.elasticsearch, caches.kibana, caches.clientAuth, caches.activeNamespaces].flatMap((c) => c.list() as k8s.KubernetesObject[]);
  expect(all.length).toBeGreaterThan(3);
  for (const o of all) expect(o.metadata?.managedFields).toBeUndefined();
  expect(caches.caSecrets.get("a-ca", CONTROLLER_NS)?.data?.["tls.key"]).toBe(btoa("ca-key"));
});

test("issue 21: a cache hands out its changes since a revision, in order: a label removed is a delete (an index updates with them, not a rebuild)", async () => {
  const cache = caches.clientCertSecrets;
  const from = cache.revision!();
  await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "journaled", labels: clientCertLabels("es", NS) }, stringData: { "tls.crt": "j" } } });
  await core.patchNamespacedSecret({ namespace: NS, name: "journaled", body: { data: { "tls.crt": btoa("j2") } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  await core.patchNamespacedSecret({ namespace: NS, name: "journaled", body: { metadata: { labels: { "eck.k8s.elastic.co/client-certificate": null } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  const changes = await eventually(() => {
    const c = (cache.changesSince!(from) ?? []).filter((x) => x.obj.metadata?.name === "journaled").map((x) => x.type);
    expect(c).toEqual(["add", "update", "delete"]);
    return cache.changesSince!(from)!;
  }, { timeoutMs: 10_000, what: "the three changes in the cache's journal" });
  expect(cache.revision!() - from).toBe(changes.length);
  expect(cache.changesSince!(cache.revision!())).toEqual([]);
  expect(cache.changesSince!(cache.revision!() + 1)).toBeUndefined();
});
