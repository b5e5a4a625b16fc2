// The official charts, rendered by the real helm with the README's values (rendered.ts), on the
// lifecycle cluster (test/e2e/lifecycle: real control plane and kube-controller-manager, the
// controller and its webhook, the test node running the shipped agent and the stand-ins), with
// es-mtls's standalone `Elasticsearch` and `Kibana` resources as the README's contract asks: the
// Elasticsearch named as the chart's clusterName, the Kibana's elasticsearchRef naming it, and the
// pods labelled through the charts' `labels:`.
import * as k8s from "@kubernetes/client-node";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { NS, type Lifecycle } from "../lifecycle/cluster.ts";
import { elasticsearchRunner, kibanaRunner } from "../../node/fixtures/standin-runners.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH, KIBANA } from "../../../controller/resources.ts";
import { ECK_MANAGED_ANNOTATION, HEALTH_CREDENTIALS_ANNOTATION, HEALTH_HTTP_CA_ANNOTATION, KIBANA_CHART_HOOKS_ANNOTATION } from "../../../controller/names.ts";
import { CERTS_SECRET, CREDENTIALS_SECRET, ES_NAME, KB_NAME, KB_SELECTOR, ES_SELECTOR, REPLICAS } from "./charts.ts";
import { KB_TOKEN_SECRET, KB_USER_SECRET, renderCharts } from "./rendered.ts";

export { NS };
const USERS_FILE = "/usr/share/elasticsearch/config/users";

export interface HelmCluster {
  httpCaPem: string;
  /** The `elastic` password helm generated. */
  password: string;
  /** The rendered chart's readiness probe script. */
  esReadinessScript: string;
}

/** Applies the rendered charts (no hooks) and es-mtls's resources; returns what the test checks against. */
export async function installCharts(lc: Lifecycle): Promise<HelmCluster> {
  const core = lc.core;
  const charts = renderCharts(NS);
  const secret = (name: string, stringData: Record<string, string>) => core.createNamespacedSecret({ namespace: NS, body: { metadata: { name }, stringData } });

  // Kibana's user in every ES pod's file realm (rendered.ts), through a runner wrapping the ES one.
  const kbPassword = crypto.randomUUID();
  const line = `kibana_system:${await Bun.password.hash(kbPassword, { algorithm: "bcrypt", cost: 4 })}\n`;
  await secret(KB_USER_SECRET, { password: kbPassword });
  // What the chart's pre-install hook would have created (rendered.ts: a placeholder).
  await secret(KB_TOKEN_SECRET, { token: "placeholder: the stand-in does not model service tokens" });
  const base = elasticsearchRunner({ hostsFile: lc.dns!.file, esReloadMs: 1000 });
  lc.node!.runners.add(kibanaRunner({ hostsFile: lc.dns!.file }), {
    ...base,
    name: "elasticsearch-standin+kibana_system",
    start: (ctx) => {
      mkdirSync(dirname(ctx.path(USERS_FILE)), { recursive: true });
      writeFileSync(ctx.path(USERS_FILE), line);
      return base.start(ctx);
    },
  });

  // es-mtls's standalone resources: what ties the chart's pods to a cluster.
  const marked = { [ECK_MANAGED_ANNOTATION]: "false" };
  await lc.custom.createNamespacedCustomObject({
    ...ELASTICSEARCH,
    namespace: NS,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: ES_NAME, annotations: { ...marked, [HEALTH_CREDENTIALS_ANNOTATION]: CREDENTIALS_SECRET, [HEALTH_HTTP_CA_ANNOTATION]: CERTS_SECRET, [KIBANA_CHART_HOOKS_ANNOTATION]: "no-hooks" } }, spec: { version: "8.5.1", nodeSets: [{ name: "master", count: REPLICAS }] } },
  });
  await lc.custom.createNamespacedCustomObject({
    ...KIBANA,
    namespace: NS,
    body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: KB_NAME, annotations: marked }, spec: { version: "8.5.1", count: 1, elasticsearchRef: { name: ES_NAME } } },
  });

  // As `helm install --no-hooks` applies them: Secrets and Services before the workloads.
  const api = k8s.KubernetesObjectApi.makeApiClient(lc.cp.kubeConfig());
  const order = ["Secret", "ConfigMap", "Service", "PodDisruptionBudget", "StatefulSet", "Deployment"];
  const objects = [...charts.objects].sort((a, b) => order.indexOf(a.kind!) - order.indexOf(b.kind!));
  for (const o of objects) {
    if (!order.includes(o.kind!)) throw new Error(`rendered ${o.kind} ${o.metadata?.name}: not expected from the charts' defaults`);
    await api.create({ ...o, metadata: { ...o.metadata, namespace: NS } });
  }
  return { httpCaPem: charts.httpCaPem, password: charts.password, esReadinessScript: charts.esReadinessScript };
}

export async function setAuthentication(lc: Lifecycle, on: boolean): Promise<void> {
  await lc.custom.patchNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME, body: [{ op: "add", path: "/spec/http", value: { tls: { client: { authentication: on } } } }] });
}

export async function status(lc: Lifecycle): Promise<Record<string, any> | undefined> {
  try {
    return ((await lc.custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: NS, name: ES_NAME })) as { status?: Record<string, any> }).status;
  } catch {
    return undefined;
  }
}

const byName = (a: k8s.V1Pod, b: k8s.V1Pod) => a.metadata!.name!.localeCompare(b.metadata!.name!);

export async function esPods(lc: Lifecycle): Promise<k8s.V1Pod[]> {
  return (await lc.core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items.sort(byName);
}

export async function kibanaPods(lc: Lifecycle): Promise<k8s.V1Pod[]> {
  return (await lc.core.listNamespacedPod({ namespace: NS, labelSelector: KB_SELECTOR })).items.sort(byName);
}

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

/** What keeps the charts' workloads from being whole (3 ES pods + 1 Kibana, all containers ready); empty = whole. */
export async function notWhole(lc: Lifecycle): Promise<string[]> {
  const problems: string[] = [];
  const es = await esPods(lc);
  const kb = (await kibanaPods(lc)).filter((p) => !p.metadata?.deletionTimestamp);
  if (es.length !== REPLICAS) problems.push(`${es.length}/${REPLICAS} ES pods`);
  if (kb.length !== 1) problems.push(`${kb.length}/1 Kibana pods`);
  for (const p of [...es, ...kb]) {
    const name = p.metadata!.name!;
    if (p.metadata?.deletionTimestamp) problems.push(`${name} terminating`);
    if (!isReady(p)) problems.push(`${name} not Ready`);
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) if (!c.ready) problems.push(`${name}/${c.name} not ready`);
  }
  return problems;
}
