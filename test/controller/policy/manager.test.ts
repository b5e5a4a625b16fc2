// Issue 8 item 1: who implements the feature for a cluster, decided from what the cluster shows.
import { describe, expect, test } from "bun:test";
import { atLeast, managerOf } from "../../../controller/policy/manager.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const eck = (version: string) => ({ metadata: { annotations: { "common.k8s.elastic.co/controller-version": version } } });

describe("who manages a cluster", () => {
  test("versions: ECK ≥ 3.4 implements the feature; older, unparseable or absent versions do not", () => {
    expect(managerOf({ metadata: {} })).toEqual({ by: "none" });
    expect(managerOf(eck("3.5.0"))).toMatchObject({ by: "eck", implementsFeature: true });
    expect(managerOf(eck("3.4.0"))).toMatchObject({ by: "eck", implementsFeature: true });
    expect(managerOf(eck("3.10.1"))).toMatchObject({ by: "eck", implementsFeature: true });
    expect(managerOf(eck("3.3.2"))).toMatchObject({ by: "eck", implementsFeature: false });
    expect(managerOf(eck("2.16.1"))).toMatchObject({ by: "eck", implementsFeature: false });
    expect(managerOf(eck("garbage"))).toMatchObject({ by: "eck", implementsFeature: false });
    expect(atLeast("v3.4.0-SNAPSHOT", "3.4.0")).toBe(true);
  });

  test("ECK 3.5 manages it: es-mtls stands aside — status ManagedByECK, one Event, no Secret, no annotation, no intents", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [pod] });
    const es = h.caches.elasticsearch.get(ES_NAME, NS)!;
    es.metadata.annotations = { "common.k8s.elastic.co/controller-version": "3.5.0", "eck.k8s.elastic.co/client-authentication-required": "true" };
    await h.reconcile();
    await h.reconcile();
    expect(h.status()?.phase).toBe("ManagedByECK");
    expect(h.writer.writes.filter((w) => !w.startsWith("status ") && w !== "apply ClientAuthentication quickstart")).toEqual([]);
    expect(h.intents.get(NS, pod.metadata!.name!)).toBeUndefined();
    expect(es.metadata.annotations["eck.k8s.elastic.co/client-authentication-required"]).toBe("true"); // ECK's, untouched
    expect(h.events.byKind.filter((e) => e.reason === "ManagedByECK").length).toBeGreaterThanOrEqual(1);
  });

  test("ECK 3.3 manages it: `required` is refused with the reason and the version needed", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = { "common.k8s.elastic.co/controller-version": "3.3.2" };
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    const ready = h.status()?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "ECKTooOld" });
    expect(ready?.message).toContain("ECK 3.3.2");
    expect(ready?.message).toContain("Upgrade ECK to 3.4.0 or later");
    expect(h.writer.writes.filter((w) => w.includes("Secret"))).toEqual([]);
  });
});
