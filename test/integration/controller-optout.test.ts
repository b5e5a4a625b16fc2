// An opted-out pod (label mtls.es-mtls.io/inject: "false") of an Enabled cluster: the webhook leaves
// it alone, so restarting it would bring it back without the agent every time (an eviction loop).
// The controller never evicts it over many reconciles (the audit log counts eviction requests) and
// names it, with the reason, in the status and one Event. kube-controller-manager runs the StatefulSets.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import type { ControlPlane } from "../controlplane/controlplane.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH as ES } from "../../controller/resources.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { startControllerWithWebhook, type ControllerWithWebhook } from "../support/controller-with-webhook.ts";
import { eventually } from "../support/eventually.ts";
import { firstIntents, podToken, postStatus } from "../support/intent-client.ts";
import { INTENT_API_AUDIENCE, type Intent } from "../../protocol/intent.ts";
import { INJECT_LABEL, INJECTED_ANNOTATION } from "../../controller/names.ts";

const ns = "optout";
let env: ControllerWithWebhook;
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let custom: k8s.CustomObjectsApi;
let ca: string;

beforeAll(async () => {
  // Hand-made pods, no Elasticsearch behind them: no /_cluster/health to read. The rollout's own
  // gates are what this tests; the health gate has its own tests (test/controller/reconcile/health-gate.test.ts,
  // test/e2e/controller-kill.test.ts, with stand-ins that serve the health).
  env = await startControllerWithWebhook(ns, { resync: "2s", extraArgs: ["--es-health-gate=false"] });
  ({ cp, controller, core, custom, ca } = env);
  apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
}, 900_000);

afterAll(async () => {
  await env?.stop();
});

const esLabels = (sts: string) => ({ "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "o", "elasticsearch.k8s.elastic.co/statefulset-name": sts });
async function statefulSet(name: string, extraLabels: Record<string, string> = {}) {
  const labels = esLabels(name);
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: { metadata: { name }, spec: { replicas: 1, serviceName: name, selector: { matchLabels: labels }, template: { metadata: { labels: { ...labels, ...extraLabels } }, spec: { containers: [{ name: "elasticsearch", image: "stand-in" }] } } } },
  });
}
const status = async () => ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "o" })) as any).status;
const reconciles = async () => Number(/es_mtls_controller_reconciles_total\{cluster="optout\/o"\} (\d+)/.exec(await (await controller.health("/metrics")).text())?.[1] ?? 0);
const evictionsOf = (pod: string) =>
  cp.auditEvents().filter((e) => e.user.username === "es-mtls-controller" && e.objectRef?.subresource === "eviction" && e.objectRef?.name === pod && e.stage === "ResponseComplete");

test("an opted-out pod of an Enabled cluster: zero evictions over many reconciles, named in the status", async () => {
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "o" }, spec: { http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 1 }] } },
  });
  // Without pods yet it may already be Enabled; either way the webhook injects new pods now.
  await eventually(async () => expect(["Enabling", "Enabled"]).toContain((await status()).phase), { timeoutMs: 20_000, what: "an active phase" });
  await statefulSet("o-es-default");
  const pod = await eventually(async () => {
    const [p] = (await core.listNamespacedPod({ namespace: ns, labelSelector: "elasticsearch.k8s.elastic.co/statefulset-name=o-es-default" })).items;
    expect(p?.metadata?.annotations?.[INJECTED_ANNOTATION]).toBeDefined();
    return p!;
  }, { timeoutMs: 30_000, what: "injected Elasticsearch pod" });
  // Its agent's part: prove `required` on the current intent.
  const token = await podToken(core, pod, INTENT_API_AUDIENCE);
  await eventually(async () => {
    const [intent] = (await firstIntents(controller.url, ca, token)) as Intent[];
    expect(intent!.enforcement).toBe("required");
    const proof = { checkedAt: new Date().toISOString(), withCertificate: "accepted" as const, withoutCertificate: "refused" as const, detail: "test agent" };
    expect((await postStatus(controller.url, ca, token, { generation: intent!.generation, bundleSha256: intent!.trustBundle!.sha256, proof, ready: true, errors: [] })).status).toBe(204);
    expect((await status()).phase).toBe("Enabled");
  }, { timeoutMs: 30_000, what: "Enabled" });

  // A second nodeSet whose pods opt out: created without the agent, restartable by its StatefulSet.
  await statefulSet("o-es-optout", { [INJECT_LABEL]: "false" });
  const optedOut = await eventually(async () => {
    const [p] = (await core.listNamespacedPod({ namespace: ns, labelSelector: "elasticsearch.k8s.elastic.co/statefulset-name=o-es-optout" })).items;
    expect(p).toBeDefined();
    return p!;
  }, { timeoutMs: 30_000, what: "opted-out pod" });
  expect(optedOut.metadata!.annotations?.[INJECTED_ANNOTATION]).toBeUndefined();

  const c = await eventually(async () => {
    const c = (await status()).conditions.find((x: any) => x.type === "PodsInjectable");
    expect(c?.status).toBe("False");
    return c;
  }, { timeoutMs: 20_000, what: "PodsInjectable=False" });
  expect(c.reason).toBe("PodsNotInjectable");
  expect(c.message).toContain("o-es-optout-0");
  expect(c.message).toContain("opted out");

  // Many reconciles later (2 s resync, and every pod change), still not one eviction request.
  const from = await reconciles();
  await eventually(async () => expect(await reconciles()).toBeGreaterThanOrEqual(from + 6), { timeoutMs: 60_000, what: "six more reconciles" });
  expect(evictionsOf("o-es-optout-0")).toEqual([]);
  const [now] = (await core.listNamespacedPod({ namespace: ns, labelSelector: "elasticsearch.k8s.elastic.co/statefulset-name=o-es-optout" })).items;
  expect(now!.metadata!.uid).toBe(optedOut.metadata!.uid!);
  const s = await status();
  expect(s.phase).toBe("Enabled");
  expect(s.conditions.find((x: any) => x.type === "PodsUpToDate").status).toBe("True");
  const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=o" })).items.filter((e) => e.reason === "PodsNotInjectable");
  expect(events.length).toBe(1);
  expect(events[0]!.message).toContain("o-es-optout-0");
}, 180_000);
