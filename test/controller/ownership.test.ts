// Issue 9 item 9 and issue 8 "no fights": es-mtls never adopts, overwrites or deletes a Secret it did
// not create (its label and a controller ownerReference to this Elasticsearch, UID included).
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { TestCA, privateKeyPem } from "../support/test-ca.ts";
import { ES_NAME, NS, esPod, license, setup } from "./cluster-fakes.ts";

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
  test("a planted, unlabelled <es>-es-client-ca: the cluster is Blocked with the reason, nothing is written or signed", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.planted.set(`${NS}/${caName}`, await plantedCa());
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ForeignObject" });
    expect(h.writer.writes.filter((w) => w.includes("Secret") || w.includes("Elasticsearch"))).toEqual([]);
    expect(h.reconciler.caFor(NS, ES_NAME)).toBeUndefined();
    expect(h.events.byKind.find((e) => e.reason === "ForeignObject")?.message).toMatch(/is not es-mtls's .* neither adopts nor overwrites it/);
  });

  test("a planted Secret with es-mtls's label but another owner UID is not used either", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.caches.managedSecrets.put(await plantedCa({ "app.kubernetes.io/managed-by": "es-mtls" }, "someone-else"));
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
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
