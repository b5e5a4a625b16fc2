// controller/admission/configurations.ts: the desired webhook configurations.
import { describe, expect, test } from "bun:test";
import { desiredMutatingWebhookConfiguration, desiredValidatingWebhookConfiguration } from "../../../controller/admission/configurations.ts";

describe("webhook configurations", () => {
  test("pods: CREATE only, narrow selectors, timeout ≤ 10, Fail by default; validation Ignore by default", () => {
    const m = desiredMutatingWebhookConfiguration({ timeoutSeconds: 30 }).webhooks![0]!;
    expect(m.rules).toEqual([{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }]);
    expect([m.timeoutSeconds, m.failurePolicy, m.sideEffects, m.admissionReviewVersions]).toEqual([10, "Fail", "None", ["v1"]]);
    expect(m.namespaceSelector!.matchExpressions![0]!.values).toContain("es-mtls-system");
    // Only namespaces the controller labelled active (it holds an enabled cluster) are sent at all.
    expect(m.namespaceSelector!.matchExpressions![1]).toEqual({ key: "mtls.es-mtls.io/active", operator: "In", values: ["true"] });
    // The webhook Service selects every replica (the intent API's es-mtls-controller only the leader).
    expect(m.clientConfig.service).toEqual({ namespace: "es-mtls-system", name: "es-mtls-controller-webhook", port: 443, path: "/mutate-pods" });
    const v = desiredValidatingWebhookConfiguration({ client: { url: "https://127.0.0.1:1/" }, caPem: "PEM" }).webhooks!;
    expect(v.map((w) => [w.name, w.failurePolicy, w.clientConfig.url, w.clientConfig.caBundle])).toEqual([
      ["elasticsearches.mtls.es-mtls.io", "Ignore", "https://127.0.0.1:1/validate-elasticsearch", btoa("PEM")],
      ["kibanas.mtls.es-mtls.io", "Ignore", "https://127.0.0.1:1/validate-kibana", btoa("PEM")],
    ]);
  });
});
