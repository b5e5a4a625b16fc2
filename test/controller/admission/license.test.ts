// One license rule for the validation webhook and the reconciler (controller/policy/license.ts):
// for the same `elastic-licensing` ConfigMap the webhook refuses exactly when the reconciler blocks,
// an expired Enterprise license included (the webhook used to check the level only).
import { describe, expect, test } from "bun:test";
import type { V1ConfigMap } from "@kubernetes/client-node";
import { createWebhookApp } from "../../../controller/admission/app.ts";
import { licenseFromConfigMap } from "../../../controller/policy/license.ts";
import { MSG_LICENSE } from "../../../controller/policy/validation.ts";
import { WEBHOOK_PATHS } from "../../../controller/names.ts";
import { license, setup } from "../../support/cluster-fakes.ts";
import { injectionConfig } from "../../support/eck-pods.ts";

const DAY = 86_400_000;
const past = new Date(Date.now() - DAY).toISOString();
const future = new Date(Date.now() + 30 * DAY).toISOString();

async function admitElasticsearch(cm: V1ConfigMap | undefined) {
  const app = createWebhookApp({ injection: () => injectionConfig(), clusterMode: () => undefined, license: () => licenseFromConfigMap(cm) });
  const review = {
    apiVersion: "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid: "review-1",
      kind: { group: "elasticsearch.k8s.elastic.co", version: "v1", kind: "Elasticsearch" },
      operation: "CREATE",
      namespace: "prod",
      name: "quickstart",
      object: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "quickstart", namespace: "prod" }, spec: { http: { tls: { client: { authentication: true } } } } },
    },
  };
  const res = await app.fetch(new Request(`https://webhook${WEBHOOK_PATHS.validateElasticsearch}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(review) }));
  expect(res.status).toBe(200);
  return ((await res.json()) as { response: { allowed: boolean; status?: { message: string } } }).response;
}

async function reconcilerPhase(cm: V1ConfigMap | undefined) {
  const h = setup(cm ? { license: cm } : {});
  await h.reconcile();
  return h.status()?.phase;
}

describe("the license rule, webhook and reconciler alike", () => {
  test("an expired enterprise license: the webhook refuses with ECK's message, the reconciler blocks", async () => {
    const expired = license("enterprise", past);
    const answer = await admitElasticsearch(expired);
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`spec.http.tls.client.authentication: Forbidden: ${MSG_LICENSE}`);
    expect(await reconcilerPhase(expired)).toBe("Blocked");
  });

  const cases: Array<[string, V1ConfigMap | undefined]> = [
    ["no licensing ConfigMap", undefined],
    ["basic", license("basic")],
    ["enterprise", license("enterprise")],
    ["enterprise, expiring later", license("enterprise", future)],
    ["enterprise, expired", license("enterprise", past)],
    ["trial, expired", license("enterprise_trial", past)],
    ["trial", license("enterprise_trial", future)],
  ];
  for (const [name, cm] of cases) {
    test(`${name}: the webhook admits exactly when the reconciler enables`, async () => {
      const admitted = (await admitElasticsearch(cm)).allowed;
      const phase = await reconcilerPhase(cm);
      expect(phase === "Blocked" ? "refused" : "allowed").toBe(admitted ? "allowed" : "refused");
    });
  }
});
