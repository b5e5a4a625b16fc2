// Issue 19 item 2: who implements the feature for a cluster, decided from what ECK really does
// (it writes the Elasticsearch's status) and from the installed CRD (ECK ≥ 3.4's keeps
// spec.http.tls.client; es-mtls's standalone one has no ECK behind it); the real operator shows
// the same in test/integration/eck-coexistence.test.ts and test/e2e/eck-operator.test.ts.
import { describe, expect, test } from "bun:test";
import { eckHasReconciled, managerOf } from "../../../controller/policy/manager.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

/** What ECK 3.5 writes on its first pass (reconcile/state.go), the fields es-mtls keeps. */
const eckStatus = { observedGeneration: 1, phase: "ApplyingChanges" };
const ECK_35 = { keepsClient: true, standalone: false };
const ECK_33 = { keepsClient: false, standalone: false };
const STANDALONE = { keepsClient: true, standalone: true };
const unmanaged = { metadata: { annotations: { "eck.k8s.elastic.co/managed": "false" } } };

describe("who manages a cluster", () => {
  test("ECK's status write is the signal; the CRD says whether that ECK implements the feature", () => {
    expect(managerOf({ status: eckStatus }, ECK_35, false)).toEqual({ by: "eck", implementsFeature: true });
    expect(managerOf({ status: { phase: "Ready" } }, ECK_35, true)).toEqual({ by: "eck", implementsFeature: true });
    expect(managerOf({ status: eckStatus }, ECK_33, false)).toMatchObject({ by: "eck", implementsFeature: false });
    // Even under the standalone CRD's name: ECK replaced it and reconciled the object.
    expect(managerOf({ status: eckStatus }, STANDALONE, true)).toEqual({ by: "eck", implementsFeature: true });
    // CRD not read: stand aside (no writes), never act on a cluster ECK runs.
    expect(managerOf({ status: eckStatus }, undefined, false)).toEqual({ by: "eck", implementsFeature: true });
    expect(eckHasReconciled({ status: { observedGeneration: 0 } })).toBe(false);
    expect(eckHasReconciled({ status: {} })).toBe(false);
  });

  test("no ECK status: es-mtls's under its standalone CRD, when ECK is told to skip it, or when es-mtls already runs it; otherwise it waits for ECK", () => {
    expect(managerOf({}, STANDALONE, false)).toEqual({ by: "none" });
    expect(managerOf(unmanaged, ECK_35, false)).toEqual({ by: "none" });
    expect(managerOf({}, ECK_35, true)).toEqual({ by: "none" });
    expect(managerOf({}, ECK_35, false)).toMatchObject({ by: "eck-pending", reason: expect.stringContaining('eck.k8s.elastic.co/managed: "false"') });
    expect(managerOf({}, undefined, false)).toMatchObject({ by: "eck-pending", reason: expect.stringContaining("could not be read yet") });
  });

  test("an annotation ECK no longer writes decides nothing: common.k8s.elastic.co/controller-version alone is no ECK", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = { "common.k8s.elastic.co/controller-version": "3.5.0" };
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
  });

  test("under ECK's CRD before ECK's first pass: es-mtls waits (WaitingForECK, nothing written to the cluster), then stands aside once ECK wrote the status", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.crd.current = { supported: true, standalone: false, detail: "ECK 3.5's" };
    const es = h.caches.elasticsearch.get(ES_NAME, NS)!;
    await h.reconcile();
    expect(h.status()?.phase).toBe("ManagedByECK");
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ status: "False", reason: "WaitingForECK" });
    expect(h.writer.writes.filter((w) => !w.startsWith("status ") && w !== "apply ClientAuthentication quickstart")).toEqual([]);
    es.status = eckStatus;
    await h.reconcile();
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")).toMatchObject({ reason: "ManagedByECK" });
    expect(h.writer.writes.filter((w) => !w.startsWith("status ") && w !== "apply ClientAuthentication quickstart")).toEqual([]);
  });

  test("under ECK's CRD with eck.k8s.elastic.co/managed: \"false\": ECK skips it, es-mtls implements the feature", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.crd.current = { supported: true, standalone: false, detail: "ECK 3.5's" };
    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = { "eck.k8s.elastic.co/managed": "false" };
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
  });

  test("ECK ≥ 3.4 manages it (status written, CRD keeps the field): es-mtls stands aside — status ManagedByECK, one Event, no Secret, no annotation, no intents", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [pod] });
    h.crd.current = { supported: true, standalone: false, detail: "ECK 3.5's" };
    const es = h.caches.elasticsearch.get(ES_NAME, NS)!;
    es.status = eckStatus;
    await h.reconcile();
    // ECK's annotation not there yet: the status says what its absence would mean.
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")?.message).toContain("if it stays absent, the ECK operator is older than its CRD");
    es.metadata.annotations = { "eck.k8s.elastic.co/client-authentication-required": "true" };
    await h.reconcile();
    await h.reconcile();
    expect(h.status()?.phase).toBe("ManagedByECK");
    expect(h.status()?.conditions?.find((c) => c.type === "Ready")?.message).not.toContain("stays absent");
    expect(h.writer.writes.filter((w) => !w.startsWith("status ") && w !== "apply ClientAuthentication quickstart")).toEqual([]);
    expect(h.intents.get(NS, pod.metadata!.name!)).toBeUndefined();
    expect(es.metadata.annotations["eck.k8s.elastic.co/client-authentication-required"]).toBe("true"); // ECK's, untouched
    expect(h.events.byKind.filter((e) => e.reason === "ManagedByECK").length).toBeGreaterThanOrEqual(1);
  });

  test("ECK ≤ 3.3 manages it (status written, CRD without the field): `required` is refused with the reason and the version needed", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.crd.current = { supported: false, standalone: false, detail: "no spec.http.tls.client" };
    h.caches.elasticsearch.get(ES_NAME, NS)!.status = eckStatus;
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    const ready = h.status()?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "ECKTooOld" });
    expect(ready?.message).toContain("its Elasticsearch CRD has no spec.http.tls.client");
    expect(ready?.message).toContain("Upgrade ECK to 3.4.0 or later");
    expect(h.writer.writes.filter((w) => w.includes("Secret"))).toEqual([]);
  });
});
