// One licence rule for the validation webhook and the reconciler (controller/policy/license.ts):
// for the same observation of ECK's licensing the webhook refuses exactly when the reconciler blocks,
// and the status names the rule applied. ECK installed: ECK's rule (its `elastic-licensing`
// ConfigMap: Enterprise or a trial, not expired; an expired Enterprise licence included, which the
// webhook used to check by level only). No ECK: no licence needed (issue 19 item 4). ECK's
// ConfigMap unreadable: unknown, refused by both, never taken for "no ECK".
import { describe, expect, test } from "bun:test";
import { createWebhookApp } from "../../../controller/admission/app.ts";
import { MSG_LICENSE, type LicensingObservation } from "../../../controller/policy/license.ts";
import { WEBHOOK_PATHS } from "../../../controller/names.ts";
import { eckLicensing, setup } from "../../support/cluster-fakes.ts";
import { injectionConfig } from "../../support/eck-pods.ts";

const DAY = 86_400_000;
const past = new Date(Date.now() - DAY).toISOString();
const future = new Date(Date.now() + 30 * DAY).toISOString();

async function admitElasticsearch(observed: LicensingObservation) {
  const app = createWebhookApp({ injection: () => injectionConfig(), clusterMode: () => undefined, licensing: () => observed });
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

async function reconcile(observed: LicensingObservation) {
  const h = setup();
  h.caches.licensing.observation = observed;
  await h.reconcile();
  const status = h.status();
  return { phase: status?.phase, licenseValid: status?.conditions?.find((c) => c.type === "LicenseValid"), ready: status?.conditions?.find((c) => c.type === "Ready"), events: h.events.recorded };
}

const forbidden: LicensingObservation = {
  eck: "unknown",
  namespace: "elastic-system",
  why: 'ConfigMap elastic-system/elastic-licensing cannot be read (forbidden): configmaps "elastic-licensing" is forbidden',
};

describe("the license rule, webhook and reconciler alike", () => {
  test("an expired enterprise license: the webhook refuses with ECK's message, the reconciler blocks", async () => {
    const expired = eckLicensing("enterprise", past);
    const answer = await admitElasticsearch(expired);
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain(`spec.http.tls.client.authentication: Forbidden: ${MSG_LICENSE}`);
    const r = await reconcile(expired);
    expect(r.phase).toBe("Blocked");
    expect(r.licenseValid).toMatchObject({ status: "False", reason: "LicenseRequired" });
    expect(r.licenseValid?.message).toContain("ECK's licence rule, ConfigMap elastic-system/elastic-licensing");
  });

  test("without ECK (its namespace absent, or --operator-namespace empty): the webhook admits, the reconciler enables, the status says no licence rule applied", async () => {
    for (const observed of [{ eck: "absent", namespace: "elastic-system" }, { eck: "off" }] as LicensingObservation[]) {
      expect((await admitElasticsearch(observed)).allowed).toBe(true);
      const r = await reconcile(observed);
      expect(["Enabling", "Enabled"]).toContain(r.phase!);
      expect(r.licenseValid).toMatchObject({ status: "True", reason: "NoLicenseRequired" });
      expect(r.licenseValid?.message).toContain("needs no licence");
    }
  });

  test("ECK installed but its ConfigMap unreadable (403): both refuse, never read as no ECK; the status says why and how to fix it", async () => {
    const answer = await admitElasticsearch(forbidden);
    expect(answer.allowed).toBe(false);
    expect(answer.status?.message).toContain("cannot tell whether ECK's licence allows client certificate authentication");
    expect(answer.status?.message).toContain("(forbidden)");
    const r = await reconcile(forbidden);
    expect(r.phase).toBe("Blocked");
    expect(r.licenseValid).toMatchObject({ status: "Unknown", reason: "LicenseUnknown" });
    expect(r.ready).toMatchObject({ status: "False", reason: "LicenseUnknown" });
    expect(r.ready?.message).toContain("apply deploy/eck/");
    expect(r.events.some((e) => e.startsWith("Warning LicenseUnknown: cannot tell"))).toBe(true);
  });

  const cases: Array<[string, LicensingObservation]> = [
    ["ECK installed, no licensing ConfigMap", { eck: "installed", namespace: "elastic-system", configMap: undefined }],
    ["basic", eckLicensing("basic")],
    ["enterprise", eckLicensing("enterprise")],
    ["enterprise, expiring later", eckLicensing("enterprise", future)],
    ["enterprise, expired", eckLicensing("enterprise", past)],
    ["trial, expired", eckLicensing("enterprise_trial", past)],
    ["trial", eckLicensing("enterprise_trial", future)],
    ["no ECK (namespace absent)", { eck: "absent", namespace: "elastic-system" }],
    ["no ECK (--operator-namespace empty)", { eck: "off" }],
    ["ECK's ConfigMap forbidden", forbidden],
    ["operator namespace not listed yet", { eck: "unknown", namespace: "elastic-system", why: "namespace elastic-system not listed yet" }],
  ];
  const expected: Record<string, "allowed" | "refused"> = {
    "ECK installed, no licensing ConfigMap": "refused",
    basic: "refused",
    enterprise: "allowed",
    "enterprise, expiring later": "allowed",
    "enterprise, expired": "refused",
    "trial, expired": "refused",
    trial: "allowed",
    "no ECK (namespace absent)": "allowed",
    "no ECK (--operator-namespace empty)": "allowed",
    "ECK's ConfigMap forbidden": "refused",
    "operator namespace not listed yet": "refused",
  };
  for (const [name, observed] of cases) {
    test(`${name}: the webhook admits exactly when the reconciler enables (${expected[name]})`, async () => {
      const admitted = (await admitElasticsearch(observed)).allowed ? "allowed" : "refused";
      const { phase } = await reconcile(observed);
      expect(phase === "Blocked" ? "refused" : "allowed").toBe(admitted);
      expect(admitted).toBe(expected[name]!);
    });
  }
});
