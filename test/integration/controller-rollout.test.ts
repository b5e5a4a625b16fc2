// Switching client authentication on for a running cluster: the controller
// restarts pods through the Eviction API, Kibana first, then Elasticsearch one
// pod at a time, each step only after the pod restarted before has proven its
// material. kube-controller-manager re-creates the pods; the controller's webhook
// injects them; the tests play the agents' part by reporting through the real
// intent API with each pod's own token.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import type { ControlPlane } from "../controlplane/controlplane.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH as ES } from "../../controller/resources.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { startControllerWithWebhook, type ControllerWithWebhook } from "../support/controller-with-webhook.ts";
import { eventually } from "../support/eventually.ts";
import { firstIntents, podToken, postStatus } from "../support/intent-client.ts";
import { INTENT_API_AUDIENCE, type Intent, type StatusReport } from "../../protocol/intent.ts";
import { INJECTED_ANNOTATION } from "../../controller/names.ts";

const ns = "roll";
let env: ControllerWithWebhook;
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let ca: string;

beforeAll(async () => {
  // Hand-made pods, no Elasticsearch behind them: no /_cluster/health to read. The rollout's own
  // gates are what this tests; the health gate has its own tests (test/controller/reconcile/health-gate.test.ts,
  // test/e2e/controller-kill.test.ts, with stand-ins that serve the health).
  env = await startControllerWithWebhook(ns, { resync: "3s", extraArgs: ["--es-health-gate=false"] });
  ({ cp, controller, core, custom, ca } = env);
}, 900_000);

afterAll(async () => {
  await env?.stop();
});

const listPods = async (selector: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
const injected = (p: k8s.V1Pod) => !!p.metadata?.annotations?.[INJECTED_ANNOTATION];

/** What the pod's agent would report once it proved its material. */
async function reportProven(pod: k8s.V1Pod) {
  const token = await podToken(core, pod, INTENT_API_AUDIENCE);
  const [intent] = (await eventually(() => firstIntents(controller.url, ca, token), { timeoutMs: 15_000, what: `intent of ${pod.metadata!.name}` })) as Intent[];
  const required = intent!.enforcement === "required";
  const report: StatusReport = {
    generation: intent!.generation,
    ...(intent!.trustBundle ? { bundleSha256: intent!.trustBundle.sha256 } : {}),
    proof: { checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: required ? "refused" : "accepted", detail: "test agent" },
    ready: true,
    errors: [],
  };
  const r = await postStatus(controller.url, ca, token, report);
  expect(r.status).toBe(204);
}

test("enabling on a running cluster restarts Kibana first, then each Elasticsearch pod after the previous one proved itself", async () => {
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "r" }, spec: { http: { tls: { client: { authentication: false } } }, nodeSets: [{ name: "default", count: 2 }] } },
  });
  await custom.createNamespacedCustomObject({ group: "kibana.k8s.elastic.co", version: "v1", plural: "kibanas", namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "r" } } } });
  const apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
  const esLabels = { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "r", "elasticsearch.k8s.elastic.co/statefulset-name": "r-es-default" };
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: { metadata: { name: "r-es-default" }, spec: { replicas: 2, podManagementPolicy: "Parallel", serviceName: "r-es-default", selector: { matchLabels: esLabels }, template: { metadata: { labels: esLabels }, spec: { containers: [{ name: "elasticsearch", image: "stand-in" }] } } } },
  });
  const kbLabels = { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": "kb" };
  await apps.createNamespacedReplicaSet({
    namespace: ns,
    body: { metadata: { name: "kb-kb" }, spec: { replicas: 1, selector: { matchLabels: kbLabels }, template: { metadata: { labels: kbLabels }, spec: { containers: [{ name: "kibana", image: "stand-in" }] } } } },
  });
  const esSel = "elasticsearch.k8s.elastic.co/cluster-name=r";
  const kbSel = "kibana.k8s.elastic.co/name=kb";
  const oldEs = await eventually(async () => {
    const p = await listPods(esSel);
    expect(p.length).toBe(2);
    return p;
  }, { timeoutMs: 30_000, what: "Elasticsearch pods" });
  const [oldKb] = await eventually(async () => {
    const p = await listPods(kbSel);
    expect(p.length).toBe(1);
    return p;
  }, { timeoutMs: 30_000, what: "Kibana pod" });
  expect([...oldEs, oldKb!].some(injected)).toBe(false); // created before the switch

  await custom.patchNamespacedCustomObject(
    { ...ES, namespace: ns, name: "r", body: { spec: { http: { tls: { client: { authentication: true } } } } } },
    k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
  );

  // Kibana first: it comes back injected, presenting its certificate.
  const newKb = await eventually(async () => {
    const p = (await listPods(kbSel)).filter((x) => x.metadata!.uid !== oldKb!.metadata!.uid && injected(x));
    expect(p.length).toBe(1);
    return p[0]!;
  }, { timeoutMs: 20_000, what: "Kibana restarted and injected" });
  // Until it proves itself, no Elasticsearch pod moves.
  await Bun.sleep(4000);
  expect((await listPods(esSel)).map((p) => p.metadata!.uid).sort()).toEqual(oldEs.map((p) => p.metadata!.uid).sort());
  await reportProven(newKb);

  // Then Elasticsearch, one pod at a time, each gated on the previous one's proof.
  const oldUids = new Set(oldEs.map((p) => p.metadata!.uid));
  for (let round = 1; round <= 2; round++) {
    const fresh = await eventually(async () => {
      const pods = await listPods(esSel);
      const renewed = pods.filter((p) => !oldUids.has(p.metadata!.uid) && injected(p));
      expect(renewed.length).toBe(round);
      return renewed;
    }, { timeoutMs: 20_000, what: `Elasticsearch restart ${round}` });
    // Never more than one old pod gone at a time: the other old one is still there until this one proves.
    await Bun.sleep(4000);
    const pods = await listPods(esSel);
    expect(pods.filter((p) => !oldUids.has(p.metadata!.uid)).length).toBe(round);
    const unproven = fresh.find((p) => !p.metadata!.annotations!["test/proven"])!;
    const enforcement = JSON.parse(unproven.metadata!.annotations![INJECTED_ANNOTATION]!).enforcement;
    expect(enforcement).toBe("required");
    await reportProven(unproven);
    await core.patchNamespacedPod({ name: unproven.metadata!.name!, namespace: ns, body: { metadata: { annotations: { "test/proven": "yes" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  }

  await eventually(async () => {
    const s = ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "r" })) as any).status;
    expect(s.phase).toBe("Enabled");
    const c = s.conditions.find((x: any) => x.type === "PodsUpToDate");
    expect(`${c.status}: ${c.message}`).toStartWith("True");
  }, { timeoutMs: 15_000, what: "Enabled, every pod up to date" });
  // Later, Kibana's agent renews its certificate: Kibana reads it only at start, so it is restarted
  // (every Elasticsearch pod already loaded the bundle that trusts the new certificate's CA).
  const kbNow = (await listPods(kbSel))[0]!;
  const token = await podToken(core, kbNow, INTENT_API_AUDIENCE);
  const [kbIntent] = (await firstIntents(controller.url, ca, token)) as Intent[];
  const renewed: StatusReport = {
    generation: kbIntent!.generation,
    proof: { checkedAt: new Date().toISOString(), withCertificate: "refused", withoutCertificate: "error", detail: "running Kibana presents an older identity" },
    restartRequired: true,
    ready: true,
    errors: [],
  };
  expect((await postStatus(controller.url, ca, token, renewed)).status).toBe(204);
  await eventually(async () => {
    const p = await listPods(kbSel);
    expect(p.some((x) => x.metadata!.uid === kbNow.metadata!.uid)).toBe(false);
  }, { timeoutMs: 20_000, what: "Kibana restarted to load its renewed certificate" });

  // Every restart went through the Eviction API (PodDisruptionBudgets apply).
  const evictions = cp.auditEvents().filter((e) => e.user.username === "es-mtls-controller" && e.objectRef?.subresource === "eviction" && e.stage === "ResponseComplete");
  expect(evictions.map((e) => e.objectRef!.name)).toEqual([oldKb!.metadata!.name, expect.stringMatching(/^r-es-default-\d$/), expect.stringMatching(/^r-es-default-\d$/), kbNow.metadata!.name]);
}, 180_000);
