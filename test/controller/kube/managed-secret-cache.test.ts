// Issue 9 finding 8: es-mtls's own Secrets in workload namespaces are cached as metadata only (the
// managed-by label is anyone's to set). The reconciler reads the data of a cluster's own Secrets
// (label, controller ownerReference, one of its names) on demand, once per resourceVersion: a resync
// of unchanged Secrets reads nothing, and a Secret a tenant planted with the label is never read.
import { describe, expect, test } from "bun:test";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const ownNames = [`${NS}/${ES_NAME}-es-internal-client-cert`, `${NS}/${ES_NAME}-es-client-trust-bundle`];

describe("managed Secrets: metadata cached, own data read on demand", () => {
  test("an enabled cluster's resyncs with nothing changed make zero writes and zero reads", async () => {
    const pods = [esPod("quickstart-es-default-0", "required")];
    const h = setup({ license: license("enterprise"), pods });
    await h.reconcile();
    h.prove(pods[0]!, "refused");
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");
    await h.reconcile(); // reads what the previous reconciles wrote (new resourceVersions)
    const reads = [...h.caches.managedSecrets.reads];
    expect(new Set(reads)).toEqual(new Set(ownNames));
    h.writer.writes = [];
    for (let i = 0; i < 3; i++) await h.reconcile();
    expect(h.writer.writes).toEqual([]);
    expect(h.caches.managedSecrets.reads).toEqual(reads);
    // The cache itself holds no data.
    for (const s of h.caches.managedSecrets.list()) expect(s.data).toBeUndefined();
  });

  test("Secrets planted with es-mtls's label, even with a controller ownerReference to the cluster, are never read", async () => {
    const pods = [esPod("quickstart-es-default-0", "required")];
    const h = setup({ license: license("enterprise"), pods });
    const big = "A".repeat(64 * 1024);
    for (let i = 0; i < 20; i++) {
      h.caches.managedSecrets.put({
        metadata: {
          name: `planted-${i}`,
          namespace: NS,
          labels: { "app.kubernetes.io/managed-by": "es-mtls", "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME },
          ownerReferences: [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: ES_NAME, uid: "es-uid", controller: true }],
        },
        data: { padding: big },
      });
    }
    await h.reconcile();
    h.prove(pods[0]!, "refused");
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");
    expect(h.caches.managedSecrets.reads.filter((r) => r.includes("planted"))).toEqual([]);
    expect(new Set(h.caches.managedSecrets.reads)).toEqual(new Set(ownNames));
    expect(h.caches.managedSecrets.list(NS).filter((s) => s.metadata?.name?.startsWith("planted")).every((s) => s.data === undefined)).toBe(true);
  });

  test("an own Secret changed behind the controller's back is read again, once", async () => {
    const pods = [esPod("quickstart-es-default-0", "required")];
    const h = setup({ license: license("enterprise"), pods });
    await h.reconcile();
    await h.reconcile();
    const bundleName = `${ES_NAME}-es-client-trust-bundle`;
    const before = h.caches.managedSecrets.reads.filter((r) => r.endsWith(bundleName)).length;
    // A new resourceVersion of the same content (someone touched an annotation).
    const whole = h.caches.managedSecrets.whole(bundleName, NS)!;
    h.caches.managedSecrets.put({ ...whole, metadata: { ...whole.metadata, annotations: { ...whole.metadata?.annotations, touched: "yes" } } });
    h.writer.writes = [];
    await h.reconcile();
    await h.reconcile();
    expect(h.writer.writes.filter((w) => w.includes(bundleName))).toEqual([]);
    expect(h.caches.managedSecrets.reads.filter((r) => r.endsWith(bundleName)).length).toBe(before + 1);
  });
});
