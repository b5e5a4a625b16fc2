// Issue 19 item 2: who implements the feature for a cluster, decided from what ECK really does
// (it writes the Elasticsearch's status) and from its CRD (≥ 3.4 keeps spec.http.tls.client);
// the real operator shows the same in test/integration/eck-operator.test.ts.
import { describe, expect, test } from "bun:test";
import { eckHasReconciled, managerOf } from "../../../controller/policy/manager.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

/** What ECK 3.5 writes on its first pass (reconcile/state.go), the fields es-mtls keeps. */
const eckStatus = { observedGeneration: 1, phase: "ApplyingChanges" };
/** ECK ≤ 3.3's CRD: no spec.http.tls.client. */
const OLD_CRD = { supported: false, detail: "no spec.http.tls.client" };

describe("who manages a cluster", () => {
  test("ECK's status write is the signal; the CRD says whether that ECK implements the feature", () => {
    expect(managerOf({}, true)).toEqual({ by: "none" });
    expect(managerOf({ status: {} }, true)).toEqual({ by: "none" });
    expect(managerOf({ status: { observedGeneration: 0 } }, true)).toEqual({ by: "none" });
    expect(managerOf({ status: eckStatus }, true)).toEqual({ by: "eck", implementsFeature: true });
    expect(managerOf({ status: { phase: "Ready" } }, true)).toEqual({ by: "eck", implementsFeature: true });
    expect(managerOf({ status: eckStatus }, false)).toMatchObject({ by: "eck", implementsFeature: false });
    // CRD not read yet: stand aside (no writes), never act on a cluster ECK runs.
    expect(managerOf({ status: eckStatus }, undefined)).toEqual({ by: "eck", implementsFeature: true });
    expect(eckHasReconciled({ status: { observedGeneration: 3 } })).toBe(true);
  });

  test("an annotation ECK no longer writes decides nothing: common.k8s.elastic.co/controller-version alone is no ECK", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = { "common.k8s.elastic.co/controller-version": "3.5.0" };
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
  });

  test("ECK ≥ 3.4 manages it (status written, CRD keeps the field): es-mtls stands aside — status ManagedByECK, one Event, no Secret, no annotation, no intents", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [pod] });
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
    h.crd.current = OLD_CRD;
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
