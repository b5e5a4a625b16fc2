// The rule of policy/standalone-marker.ts: which objects of es-mtls's standalone CRDs lack
// eck.k8s.elastic.co/managed: "false" (the reconcile step's report: test/controller/reconcile/standalone-marker.test.ts).
import { describe, expect, test } from "bun:test";
import { ECK_MANAGED_ANNOTATION } from "../../../controller/names.ts";
import { unmarkedStandaloneObjects } from "../../../controller/policy/standalone-marker.ts";

const kibana = (name: string, annotations?: Record<string, string>) => ({ metadata: { name, ...(annotations ? { annotations } : {}) } });

describe("unmarkedStandaloneObjects", () => {
  test("the rule: only on the standalone CRD, only the value \"false\"", () => {
    const objects = [kibana("a", { [ECK_MANAGED_ANNOTATION]: "false" }), kibana("b"), kibana("c", { [ECK_MANAGED_ANNOTATION]: "true" })];
    expect(unmarkedStandaloneObjects(objects, true).map((o) => o.metadata.name)).toEqual(["b", "c"]);
    expect(unmarkedStandaloneObjects(objects, false)).toEqual([]);
  });

});
