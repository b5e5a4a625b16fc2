// Issue 9 item 9 and issue 8 "no fights": es-mtls never adopts, overwrites or deletes a Secret it did
// not create (its label and a controller ownerReference to this Elasticsearch, UID included).
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../../../common/x509.ts";
import { TestCA, privateKeyPem } from "../../support/test-ca.ts";
import { CA_CLUSTER_NAMESPACE_LABEL, CA_CLUSTER_NAME_LABEL, CA_CLUSTER_UID_LABEL, clientCaSecretName } from "../../../controller/names.ts";
import { CA_NS, ES_NAME, NS, elasticsearch, esPod, license, setup } from "../../support/cluster-fakes.ts";

/** A CA Secret name in the workload namespace that es-mtls never uses (ECK-like, so a tenant may plant it). */
const caName = `${ES_NAME}-es-client-ca`;

async function plantedCa(labels: Record<string, string> = {}, ownerUid?: string): Promise<V1Secret> {
  const attacker = await TestCA.create("attacker");
  return {
    metadata: {
      name: caName,
      namespace: NS,
      uid: "uid-planted",
      resourceVersion: "1",
      labels,
      ...(ownerUid ? { ownerReferences: [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: ES_NAME, uid: ownerUid, controller: true }] } : {}),
    },
    data: { "tls.crt": btoa(attacker.pem), "tls.key": btoa(await privateKeyPem(attacker.keys.privateKey)) },
  };
}

describe("foreign objects of es-mtls's names", () => {
  test("a planted, unlabelled <es>-es-client-ca in the workload namespace is neither used nor deleted: the CA is made in the controller's namespace", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const planted = await plantedCa();
    h.planted.set(`${NS}/${caName}`, planted);
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    const ours = h.caches.caSecrets.get(clientCaSecretName(NS, ES_NAME), CA_NS)!;
    expect(ours.data!["tls.crt"]).not.toBe(planted.data!["tls.crt"]);
    expect(h.intents.get(NS, "quickstart-es-default-0")?.trustBundle?.pem).not.toContain(atob(planted.data!["tls.crt"]!).split("\n")[1]);
    expect(h.writer.writes.filter((w) => w.startsWith("delete"))).toEqual([]);
  });

  test("a planted <es>-es-client-ca with es-mtls's label but another owner UID is not used, not moved, not deleted", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const planted = await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls" }, "someone-else");
    h.caches.managedSecrets.put(planted);
    await h.reconcile();
    expect(h.caches.caSecrets.get(clientCaSecretName(NS, ES_NAME), CA_NS)!.data!["tls.crt"]).not.toBe(planted.data!["tls.crt"]);
    expect(h.caches.managedSecrets.whole(caName, NS)?.data).toEqual(planted.data);
    // Not its own (another owner UID): its data is never read.
    expect(h.caches.managedSecrets.reads).not.toContain(`${NS}/${caName}`);
    expect(h.writer.writes.filter((w) => w.startsWith("delete"))).toEqual([]);
  });

  test("a Secret of the CA's name in the controller's namespace labelled for another cluster: Blocked, nothing signed", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const other = await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls", [CA_CLUSTER_NAMESPACE_LABEL]: "tenant", [CA_CLUSTER_NAME_LABEL]: ES_NAME, [CA_CLUSTER_UID_LABEL]: "x" });
    h.caches.caSecrets.put({ ...other, metadata: { ...other.metadata, name: clientCaSecretName(NS, ES_NAME), namespace: CA_NS } });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ForeignObject" });
    expect(h.reconciler.caFor(NS, ES_NAME)).toBeUndefined();
  });

  test("an active cluster whose name gets taken is frozen, not torn down: intents stay, nothing is deleted", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [pod] });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    const intent = h.intents.get(NS, pod.metadata!.name!);
    // Someone replaces the trust bundle Secret with their own.
    const bundle = h.caches.managedSecrets.get(`${ES_NAME}-es-client-trust-bundle`, NS)!;
    h.caches.managedSecrets.put({ ...bundle, metadata: { ...bundle.metadata, ownerReferences: [] } });
    h.writer.writes = [];
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    expect(h.intents.get(NS, pod.metadata!.name!)).toBe(intent!);
    expect(h.writer.writes.filter((w) => !w.startsWith("status"))).toEqual([]);
  });
});

describe("the client CA lives in the controller's namespace", () => {
  test("a <es>-es-client-ca in the workload namespace with es-mtls's label and a controller ownerReference to this Elasticsearch's UID is not adopted: not the CA, not read, not deleted (issue 18)", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const dressed = await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls" }, "es-uid");
    h.caches.managedSecrets.put(dressed);
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    const ours = h.caches.caSecrets.get(clientCaSecretName(NS, ES_NAME), CA_NS)!;
    expect(ours.data!["tls.key"]).not.toBe(dressed.data!["tls.key"]);
    expect(h.reconciler.caFor(NS, ES_NAME)!.certificate.serialNumber).not.toBe(new x509.X509Certificate(atob(dressed.data!["tls.crt"]!)).serialNumber);
    expect(h.intents.get(NS, "quickstart-es-default-0")?.trustBundle?.pem).not.toContain(atob(dressed.data!["tls.crt"]!).split("\n")[1]);
    // Not one of the names es-mtls keeps in a workload namespace: its data is never read, and it stays.
    expect(h.caches.managedSecrets.reads).not.toContain(`${NS}/${caName}`);
    expect(h.caches.managedSecrets.whole(caName, NS)?.data).toEqual(dressed.data);
    expect(h.writer.writes.filter((w) => w.startsWith("delete"))).toEqual([]);
  });

  test("a CA left by a deleted namesake cluster (other UID) is deleted and a new one made", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const stale = await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls", [CA_CLUSTER_NAMESPACE_LABEL]: NS, [CA_CLUSTER_NAME_LABEL]: ES_NAME, [CA_CLUSTER_UID_LABEL]: "old-uid" });
    h.caches.caSecrets.put({ ...stale, metadata: { ...stale.metadata, name: clientCaSecretName(NS, ES_NAME), namespace: CA_NS } });
    await h.reconcile();
    const fresh = h.caches.caSecrets.get(clientCaSecretName(NS, ES_NAME), CA_NS)!;
    expect(fresh.metadata?.labels?.[CA_CLUSTER_UID_LABEL]).toBe("es-uid");
    expect(fresh.data!["tls.crt"]).not.toBe(stale.data!["tls.crt"]);
  });

  test("deleting the Elasticsearch deletes its CA; the sweep deletes CAs of unknown UIDs and nothing without es-mtls's labels", async () => {
    const h = setup({ license: license("enterprise") });
    await h.reconcile();
    const name = clientCaSecretName(NS, ES_NAME);
    expect(h.caches.caSecrets.get(name, CA_NS)).toBeDefined();
    h.caches.elasticsearch.delete(NS, ES_NAME);
    await h.reconcile();
    expect(h.caches.caSecrets.get(name, CA_NS)).toBeUndefined();

    const orphan = await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls", [CA_CLUSTER_NAMESPACE_LABEL]: "gone", [CA_CLUSTER_NAME_LABEL]: "es", [CA_CLUSTER_UID_LABEL]: "gone-uid" });
    h.caches.caSecrets.put({ ...orphan, metadata: { ...orphan.metadata, name: "orphan", namespace: CA_NS } });
    const unlabelled = await plantedCa({ "app.kubernetes.io/managed-by": "someone" });
    h.caches.caSecrets.put({ ...unlabelled, metadata: { ...unlabelled.metadata, name: "not-ours", namespace: CA_NS } });
    h.caches.elasticsearch.put(elasticsearch(true));
    await h.reconcile();
    expect(await h.reconciler.sweepOrphanCas()).toBe(1);
    expect(h.caches.caSecrets.get("orphan", CA_NS)).toBeUndefined();
    expect(h.caches.caSecrets.get("not-ours", CA_NS)).toBeDefined();
    expect(h.caches.caSecrets.get(name, CA_NS)).toBeDefined(); // a live cluster's CA stays
  });
});
