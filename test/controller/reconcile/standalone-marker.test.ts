// Issue 19 item 3: on es-mtls's standalone CRDs every Elasticsearch and Kibana must carry
// eck.k8s.elastic.co/managed: "false" (so an ECK installed later skips it); the controller says
// which of a cluster's objects lack it, in the UnmanagedByECK condition and a Warning Event on each,
// and never asks for it under ECK's CRDs.
import { describe, expect, test } from "bun:test";
import { ECK_MANAGED_ANNOTATION } from "../../../controller/names.ts";
import type { Kibana } from "../../../controller/resources.ts";
import { UNMANAGED_BY_ECK_CONDITION } from "../../../controller/reconcile/standalone-marker.ts";
import { ES_NAME, NS, setup } from "../../support/cluster-fakes.ts";

const UNMANAGED = { [ECK_MANAGED_ANNOTATION]: "false" };

function kibana(name: string, annotations?: Record<string, string>): Kibana {
  return { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name, namespace: NS, uid: `kb-${name}`, ...(annotations ? { annotations } : {}) }, spec: { elasticsearchRef: { name: ES_NAME } } };
}

describe("objects of the standalone CRDs without eck.k8s.elastic.co/managed: \"false\"", () => {
  test("an unannotated Elasticsearch and Kibana: condition False naming both, a Warning Event on each; annotated: True, no Event", async () => {
    const h = setup();
    h.caches.kibana.put(kibana("dash"));
    await h.reconcile();
    const c = h.status()?.conditions?.find((x) => x.type === UNMANAGED_BY_ECK_CONDITION);
    expect(c).toMatchObject({ status: "False", reason: "AnnotationMissing" });
    expect(c!.message).toContain(`Elasticsearch ${NS}/${ES_NAME}, Kibana ${NS}/dash lack(s) ${ECK_MANAGED_ANNOTATION}: "false"`);
    const missing = h.events.byKind.filter((e) => e.reason === "ECKManagedAnnotationMissing");
    expect(missing.map((e) => `${e.type} ${e.kind}`).sort()).toEqual(["Warning Elasticsearch", "Warning Kibana"]);

    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = UNMANAGED;
    h.caches.kibana.put(kibana("dash", UNMANAGED));
    h.events.byKind = [];
    await h.reconcile();
    expect(h.status()?.conditions?.find((x) => x.type === UNMANAGED_BY_ECK_CONDITION)).toMatchObject({ status: "True", reason: "Annotated" });
    expect(h.events.byKind.filter((e) => e.reason === "ECKManagedAnnotationMissing")).toEqual([]);
  });

  test("under ECK's CRDs (an Elasticsearch es-mtls already runs): no condition, no Event, the annotation is never asked for", async () => {
    const h = setup();
    await h.reconcile(); // es-mtls runs it on the standalone CRD
    expect(h.status()?.conditions?.find((x) => x.type === UNMANAGED_BY_ECK_CONDITION)?.status).toBe("False");
    h.crd.current = { supported: true, standalone: false, detail: "ECK 3.5's" };
    h.events.byKind = [];
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");
    expect(h.status()?.conditions?.find((x) => x.type === UNMANAGED_BY_ECK_CONDITION)).toBeUndefined();
    expect(h.events.byKind.filter((e) => e.reason === "ECKManagedAnnotationMissing")).toEqual([]);
  });
});
