// Issue 19 item 3, first acceptance: the real ECK 3.5 operator (test/eck/) manages `quickstart`
// (3 nodes) and a Kibana; client authentication is switched on and then off in ECK's own spec;
// es-mtls runs beside it as in the other e2e tests (controller with its pod-injection webhook
// registered, kube-controller-manager creating the pods). es-mtls must make zero writes to that
// cluster's objects, its namespace and its pods (audit log), other than its own ClientAuthentication
// and Events; inject no pod; say ManagedByECK; and ECK's own work must be there (its trust bundle,
// its internal certificate, Kibana's certificate, its annotation), so an idle es-mtls could not pass.
//
// What this leaves out: the pods are created (by kube-controller-manager, through the admission
// webhooks) but not run: no test node runs ECK's pods, whose init containers and Elasticsearch
// image the stand-ins do not model (ECK's file-realm users, its licence, desired-nodes and shutdown
// API calls). So ECK never reaches Elasticsearch, and its graceful disable, which waits for
// Elasticsearch and for every pod on its updateRevision, keeps its annotation and Secrets after the
// switch-off, as ECK does on a cluster it cannot reach. es-mtls's side (no write, no injection) does
// not depend on whether those pods run: the webhook decides at creation, the reconciler from the objects.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import { AGENT_CONTAINER, CLIENT_CERTIFICATE_LABEL, INJECTED_ANNOTATION } from "../../controller/names.ts";
import { startControllerWithWebhook, type ControllerWithWebhook } from "../support/controller-with-webhook.ts";
import { eventually } from "../support/eventually.ts";
import { eckCrdsFile } from "../eck/module.ts";
import { ensureEckOperator } from "../eck/operator-binary.ts";
import { EckOperator, ECK_USER } from "../eck/operator-process.ts";
import { writesToNamespace } from "../eck/cluster-writes.ts";

const ECK_CRDS = eckCrdsFile("the acceptance next to the real ECK operator");
const operator = ECK_CRDS ? ensureEckOperator((l) => console.error(l)) : undefined;
if (operator && "missing" in operator) console.error(`skipping the acceptance next to the real ECK operator: ${operator.missing}`);
const present = !!operator && "path" in operator;

const ns = "prod";
/** The user startControllerWithWebhook gives es-mtls's controller. */
const ES_MTLS_USER = "es-mtls-controller";
const REQUIRED = "eck.k8s.elastic.co/client-authentication-required";
const CA_RES = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" };
const merge = k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch);

let h: ControllerWithWebhook;
let eck: EckOperator;

beforeAll(async () => {
  if (!present) return;
  h = await startControllerWithWebhook(ns, { crds: [join(import.meta.dir, "..", "..", "deploy", "crds"), ECK_CRDS!], resync: "1s" });
  eck = await EckOperator.start({ binary: (operator as { path: string }).path, kubeconfig: await h.cp.kubeconfigFor(ECK_USER, ["system:masters"]), core: h.core });
}, 900_000);

afterAll(async () => {
  await eck?.stop();
  await h?.stop();
});

const getEs = async (): Promise<any> => h.custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "quickstart" });
const statusOf = async (): Promise<any> => ((await h.custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name: "quickstart" }).catch(() => ({}))) as any).status;

async function reconciles(): Promise<number> {
  const text = await (await h.controller.health("/metrics")).text();
  return Number(new RegExp(`^es_mtls_controller_reconciles_total\\{cluster="${ns}/quickstart"\\} (\\d+)`, "m").exec(text)?.[1] ?? 0);
}

/** ECK has acted on the Elasticsearch's current spec. */
async function eckObserved(): Promise<void> {
  const es = await getEs();
  expect(es.status?.observedGeneration).toBe(es.metadata.generation);
}

test.skipIf(!present)("ECK 3.5 manages quickstart (3 nodes) and a Kibana; client authentication on, then off, in ECK's spec: ECK's material is there, es-mtls writes nothing to the cluster, injects no pod and says ManagedByECK", async () => {
  const since = new Date(0).toISOString(); // every write es-mtls ever made
  await h.custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "quickstart" }, spec: { version: "9.4.0", nodeSets: [{ name: "default", count: 3, config: { "node.store.allow_mmap": false } }] } },
  });
  await h.custom.createNamespacedCustomObject({
    ...KB,
    namespace: ns,
    body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "quickstart" }, spec: { version: "9.4.0", count: 1, elasticsearchRef: { name: "quickstart" } } },
  });
  // ECK's StatefulSet and Deployment, and kube-controller-manager's pods of them (through the webhooks).
  await eventually(async () => {
    const pods = (await h.core.listNamespacedPod({ namespace: ns })).items.map((p) => p.metadata!.name!).sort();
    expect(pods.filter((n) => n.startsWith("quickstart-es-default-"))).toEqual(["quickstart-es-default-0", "quickstart-es-default-1", "quickstart-es-default-2"]);
    expect(pods.filter((n) => n.startsWith("quickstart-kb-"))).toHaveLength(1);
  }, { timeoutMs: 60_000, what: "ECK's 3 Elasticsearch pods and its Kibana pod" });

  await h.custom.patchNamespacedCustomObject({ ...ES, namespace: ns, name: "quickstart", body: { spec: { http: { tls: { client: { authentication: true } } } } } }, merge);
  await eventually(async () => {
    expect((await getEs()).metadata.annotations?.[REQUIRED]).toBe("true");
    const bundle = await h.core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-client-trust-bundle" });
    expect(atob(bundle.data?.["client-trust-bundle.crt"] ?? "")).toContain("-----BEGIN CERTIFICATE-----");
    const internal = await h.core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-internal-client-cert" });
    expect(Object.keys(internal.data ?? {}).sort()).toEqual(["tls.crt", "tls.key"]);
    // Kibana's certificate, issued by ECK's association controller and pinned in the bundle.
    const kibana = (await h.core.listNamespacedSecret({ namespace: ns, labelSelector: `${CLIENT_CERTIFICATE_LABEL}=true` })).items.filter((x) => /^quickstart-kb-es-\d+-client-cert$/.test(x.metadata!.name!));
    expect(kibana).toHaveLength(1);
    expect(atob(bundle.data!["client-trust-bundle.crt"]!)).toContain(atob(kibana[0]!.data!["tls.crt"]!).trim());
    await eckObserved();
  }, { timeoutMs: 60_000, what: "ECK's annotation, trust bundle, internal certificate and Kibana's certificate" });
  await eventually(async () => expect((await statusOf())?.phase).toBe("ManagedByECK"), { timeoutMs: 30_000, what: "es-mtls: ManagedByECK" });

  await h.custom.patchNamespacedCustomObject({ ...ES, namespace: ns, name: "quickstart", body: { spec: { http: { tls: { client: { authentication: false } } } } } }, merge);
  await eventually(eckObserved, { timeoutMs: 60_000, what: "ECK's pass over the switch-off" });
  const before = await reconciles();
  await eventually(async () => expect(await reconciles()).toBeGreaterThanOrEqual(before + 4), { timeoutMs: 30_000, what: "four more reconciles after the switch-off" });

  expect(writesToNamespace(h.cp, ES_MTLS_USER, ns, since)).toEqual([]);
  // ECK's Kibana Deployment rolls when its certificate appears (its pod is replaced): wait for the new pod.
  const pods = await eventually(async () => {
    const items = (await h.core.listNamespacedPod({ namespace: ns })).items;
    expect(items.filter((p) => p.metadata!.name!.startsWith("quickstart-es-default-"))).toHaveLength(3);
    expect(items.filter((p) => p.metadata!.name!.startsWith("quickstart-kb-")).length).toBeGreaterThanOrEqual(1);
    return items;
  }, { timeoutMs: 30_000, what: "ECK's 3 Elasticsearch pods and a Kibana pod" });
  for (const p of pods) {
    expect(p.metadata?.annotations?.[INJECTED_ANNOTATION]).toBeUndefined();
    expect([...(p.spec?.initContainers ?? []), ...(p.spec?.containers ?? [])].map((c) => c.name)).not.toContain(AGENT_CONTAINER);
  }
  const status = await statusOf();
  expect(status.phase).toBe("ManagedByECK");
  expect(status.conditions.find((c: any) => c.type === "Ready")).toMatchObject({ status: "False", reason: "ManagedByECK" });
  expect(status.conditions.find((c: any) => c.type === "Ready").message).toContain("implemented by ECK");
  // ECK's graceful disable waits for an Elasticsearch it can reach: its material stays (see the top).
  expect((await getEs()).metadata.annotations?.[REQUIRED]).toBe("true");
  await h.core.readNamespacedSecret({ namespace: ns, name: "quickstart-es-client-trust-bundle" });
}, 300_000);
