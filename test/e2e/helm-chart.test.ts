// Issue 8 item 2 and issue 19 item 5, end to end: Elasticsearch and Kibana without ECK, as the
// official Elastic Helm charts (elastic/helm-charts 8.5.1) run them: rendered by the real `helm
// template` with the values the README asks for (test/e2e/helm-chart/rendered.ts lists each
// deviation, all chart values), applied as `helm install --no-hooks` would, tied to es-mtls's
// standalone Elasticsearch and Kibana resources by those labels. The whole system runs:
// kube-controller-manager re-creates what the controller evicts, the webhook injects the shipped
// agent, the test node runs the charts' probes with real curl inside each container's mount view.
// Enabling must end `Enabled` with every pod Ready through the chart's probe under `required` (it
// presents the pod's probe identity via CURL_HOME), and disabling `Disabled`. The charts are read
// from the reference folder (test/support/reference-charts.ts): without it every test here skips,
// its name saying so.
import { afterAll, beforeAll, describe, expect, test as bunTest } from "bun:test";
import * as https from "node:https";
import { x509 } from "../../common/x509.ts";
import { clientCaSecretName, CONTROLLER_NAMESPACE, HEALTH_CREDENTIALS_ANNOTATION, HEALTH_HTTP_CA_ANNOTATION, KIBANA_CHART_HOOKS_ANNOTATION } from "../../controller/names.ts";
import { ELASTICSEARCH } from "../../controller/resources.ts";
import { TestCA } from "../support/test-ca.ts";
import { Lifecycle } from "./lifecycle/cluster.ts";
import { evictions, info } from "./lifecycle/observe.ts";
import { runProbe } from "../node/probes.ts";
import { eventually } from "../support/eventually.ts";
import { freeLoopbackAddress } from "../support/ports.ts";
import { CERTS_SECRET, CREDENTIALS_SECRET, ES_MTLS_ES_LABELS, ES_NAME, REPLICAS, STS } from "./helm-chart/charts.ts";
import { NEEDS_REFERENCE_CHARTS, README_ES_VALUES, README_KB_VALUES, exampleValues, ofKind, renderOfficial, skipWhy } from "../support/official-charts.ts";
import type { V1Pod } from "@kubernetes/client-node";
import { NS, esPods, installCharts, kibanaPods, notWhole, setAuthentication, status, type HelmCluster } from "./helm-chart/cluster.ts";

let lc: Lifecycle;
let helm: HelmCluster;
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const PROBE_DIR = "/usr/share/elasticsearch/config/es-mtls-probe";

const test = skipWhy ? bunTest.skip : bunTest;
if (skipWhy) console.error(`helm-chart e2e: skipped, ${skipWhy}`);

beforeAll(async () => {
  if (skipWhy) return;
  // One controller, no standby, and a shared 2-core machine: a longer lease than the harness's 6 s,
  // so a starved renewal does not end the only leader mid-test (leader election is tested elsewhere).
  lc = await Lifecycle.start(verbose, { workload: false, controllerArgs: ["--lease-duration=60s"] });
  helm = await installCharts(lc);
  await whole("the charts' pods Ready before anything is switched on");
}, 150_000);

afterAll(async () => {
  await lc?.stop();
});

const firstCertificate = (pem: string) => new x509.X509Certificate(pem.slice(0, pem.indexOf("-----END CERTIFICATE-----") + 25));
const controllerTail = () => lc.controller?.logs.slice(-15).join("\n") ?? "";

async function whole(what: string, timeoutMs = 90_000): Promise<void> {
  await eventually(async () => {
    const problems = await notWhole(lc);
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs, intervalMs: 500, what });
}

async function settle(phase: "Enabled" | "Disabled"): Promise<Record<string, any>> {
  return eventually(async () => {
    const s = await status(lc);
    if (s?.phase !== phase) throw new Error(`phase ${s?.phase}, proven ${s?.podsProven}, ${s?.conditions?.find((c: any) => c.type === "PodsUpToDate")?.message ?? ""}`);
    if (phase === "Enabled" && s.podsProven !== `${REPLICAS + 1}/${REPLICAS + 1}`) throw new Error(`proven ${s.podsProven}`);
    const problems = await notWhole(lc);
    if (problems.length) throw new Error(problems.join("; "));
    return s;
  }, { timeoutMs: 120_000, intervalMs: 500, what: `phase ${phase} with every pod whole` }).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
}

/** The chart's readiness probe of `pod`, run now by the test node's prober (in the container's mount view); `edit` changes the script first. */
async function chartProbe(podName: string, podIP: string, edit: (script: string) => string = (s) => s) {
  const pod = (await esPods(lc)).find((p) => p.metadata!.name === podName)!;
  const container = pod.spec!.containers.find((c) => c.name === "elasticsearch")!;
  const local = lc.node!.pod(NS, podName)!;
  const env = Object.fromEntries((container.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
  const probe = { ...container.readinessProbe!, exec: { command: ["bash", "-c", edit(container.readinessProbe!.exec!.command![2]!)] } };
  return runProbe(probe, { podIP, container, env: { ...env, ELASTIC_PASSWORD: helm.password }, root: local.hostPath("elasticsearch", "/"), logFile: `${lc.node!.dir}/chart-probe.log` });
}

describe(`the official charts rendered by helm (${NEEDS_REFERENCE_CHARTS})`, () => {
/**
 * With `pod` planted (bound to another node, so it never runs: what counts is its spec), or with the
 * charts' pods alone, switching on must stay Blocked with `reason` (condition naming `message`, one
 * Event), a reconcile later too, with no eviction, no Secret, no pod injected; then switched off and
 * the pod removed.
 */
async function refusedWith(pod: V1Pod | undefined, reason: string, message: string | RegExp): Promise<void> {
  if (pod) await lc.core.createNamespacedPod({ namespace: NS, body: { ...pod, spec: { ...pod.spec!, nodeName: "elsewhere" } } });
  const since = Date.now();
  await setAuthentication(lc, true);
  const s = await eventually(async () => {
    const st = await status(lc);
    if (st?.phase !== "Blocked") throw new Error(`phase ${st?.phase}`);
    return st;
  }, { timeoutMs: 30_000, intervalMs: 250, what: "phase Blocked" });
  const ready = s.conditions.find((c: any) => c.type === "Ready");
  expect(ready).toMatchObject({ status: "False", reason });
  if (typeof message === "string") expect(ready.message).toContain(message);
  else expect(ready.message).toMatch(message);
  const events = (await lc.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === reason);
  expect(events.map((e) => e.involvedObject.name)).toEqual([ES_NAME]);
  // Still Blocked a reconcile later (the controller's own counter), and nothing happened meanwhile.
  const reconciles = async () => {
    const text = await (await fetch(`http://127.0.0.1:${lc.controller!.healthPort}/metrics`)).text();
    return Number(new RegExp(`es_mtls_controller_reconciles_total\\{cluster="${NS}/${ES_NAME}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };
  const seen = await reconciles();
  await eventually(async () => {
    if ((await reconciles()) <= seen) throw new Error("not reconciled again yet");
  }, { timeoutMs: 30_000, intervalMs: 250, what: "another reconcile" });
  expect((await status(lc))?.phase).toBe("Blocked");
  expect(evictions(lc.cp.auditEvents(), since)).toEqual([]);
  await expect(lc.core.readNamespacedSecret({ name: clientCaSecretName(NS, ES_NAME), namespace: CONTROLLER_NAMESPACE })).rejects.toThrow();
  for (const p of [...(await esPods(lc)), ...(await kibanaPods(lc))]) expect(p.metadata?.annotations?.["mtls.es-mtls.io/injected"]).toBeUndefined();
  // Switched off again before the pod goes: with it on, the controller would start the rollout at
  // once, before the next test has planted its pod and its annotation (a clean-clone run saw an
  // Elasticsearch pod evicted while that test was still setting up).
  await setAuthentication(lc, false);
  await eventually(async () => {
    const st = await status(lc);
    if (st?.phase !== "Disabled") throw new Error(`phase ${st?.phase}`);
  }, { timeoutMs: 30_000, intervalMs: 250, what: "phase Disabled" });
  if (pod) await lc.core.deleteNamespacedPod({ name: pod.metadata!.name!, namespace: NS, gracePeriodSeconds: 0 });
}

test("refused: with a pod of the cluster whose readiness probe is an httpGet over HTTPS, enabling stays Blocked (ProbeWouldFail, Event), no pod evicted, nothing created", async () => {
  const odd = "elasticsearch-httpget-probe";
  await refusedWith(
    { metadata: { name: odd, labels: ES_MTLS_ES_LABELS }, spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:8.5.1", readinessProbe: { httpGet: { path: "/_cluster/health", port: 9200 as never, scheme: "HTTPS" } } }] } },
    "ProbeWouldFail",
    `pod ${odd} container elasticsearch readinessProbe: httpGet over HTTPS`,
  );
}, 90_000);

test("refused: a pod of the elasticsearch chart's own examples/security (truststore.path in its esConfig elasticsearch.yml) keeps enabling Blocked (UserTrustConflict, Event), no pod evicted, nothing created", async () => {
  // persistence off as for the cluster's own pods (rendered.ts): a bare pod cannot mount a volumeClaimTemplate.
  const objs = renderOfficial("elasticsearch", "security", NS, README_ES_VALUES, ["-f", exampleValues("elasticsearch", "security"), "--set", "persistence.enabled=false"]);
  const template = ofKind(objs, "StatefulSet")[0]!.spec.template;
  await refusedWith({ metadata: { ...template.metadata, name: "security-master-0" }, spec: template.spec }, "UserTrustConflict", "pod security-master-0: mounts its own elasticsearch.yml (volume esconfig)");
}, 90_000);

test("refused: a pod of the kibana chart without STATUS_ALLOWANONYMOUS keeps enabling Blocked (KibanaProofUnavailable, Event), no pod evicted, nothing created", async () => {
  const labelsOnly = Object.fromEntries(Object.entries(README_KB_VALUES).filter(([k]) => k.startsWith("labels.")));
  const template = ofKind(renderOfficial("kibana", "kibana", NS, labelsOnly), "Deployment")[0]!.spec.template;
  await refusedWith({ metadata: { ...template.metadata, name: "kibana-without-anonymous-status" }, spec: template.spec }, "KibanaProofUnavailable", "Kibana pod(s) kibana-without-anonymous-status do not set STATUS_ALLOWANONYMOUS=true");
}, 90_000);

test("refused: the kibana chart's own running Kibana, without the annotation saying its hook Jobs are skipped, keeps enabling Blocked (KibanaChartHooksWouldFail, Event), no pod evicted, nothing created", async () => {
  const [kb] = await kibanaPods(lc);
  // The rendered Deployment's pod takes its token from the Secret the chart's hook Jobs write.
  expect(kb!.spec!.containers.find((c) => c.name === "kibana")!.env).toContainEqual({ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: "kibana-kibana-es-token", key: "token", optional: false } } });
  await lc.custom.patchNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME, body: [{ op: "remove", path: `/metadata/annotations/${KIBANA_CHART_HOOKS_ANNOTATION.replace("/", "~1")}` }] });
  try {
    await refusedWith(undefined, "KibanaChartHooksWouldFail", new RegExp(`Helm hook Jobs \\(pre-install-kibana-kibana, post-delete-kibana-kibana\\): Kibana pod\\(s\\) ${kb!.metadata!.name} take ELASTICSEARCH_SERVICEACCOUNTTOKEN`));
  } finally {
    await annotate(KIBANA_CHART_HOOKS_ANNOTATION, "no-hooks");
  }
}, 90_000);

/** The ES pods' UIDs before client authentication was first switched on (the health-gate test switches it on). */
let beforeEnable: string[] | undefined;


/** What a planted pod serves on podIP:9200: answers green to anything, and records who sent what. */
async function catcher(ip: string, cert: { certPem: string; key: string }, seen: string[]): Promise<https.Server> {
  const srv = https.createServer({ cert: cert.certPem, key: cert.key }, (req, res) => {
    seen.push(`${req.method} ${req.url} authorization=${req.headers.authorization ?? "none"}`);
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ cluster_name: ES_NAME, status: "green" }));
  });
  await new Promise<void>((resolve, reject) => srv.once("error", reject).listen(9200, ip, () => resolve()));
  return srv;
}

const annotate = (annotation: string, value: string) =>
  lc.custom.patchNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME, body: [{ op: "add", path: `/metadata/annotations/${annotation.replace("/", "~1")}`, value }] });

test("health gate (issue 18 finding 4): a Ready pod planted with the cluster's labels never receives the credentials; an annotation naming a Secret the StatefulSet does not use is refused (PodsUpToDate=False/HealthSecretRefused, Event), no ES pod evicted", async () => {
  beforeEnable = (await esPods(lc)).map((p) => p.metadata!.uid!);
  for (const p of await esPods(lc)) expect(await info(p.status!.podIP!, helm.httpCaPem, undefined, helm.password)).toBe("ok");
  // Someone who may edit the Elasticsearch, create pods and Secrets, but not read Secrets: a pod
  // with the cluster's labels (first in name order), Ready at an address where the test listens, and
  // their own CA in a Secret named by the annotation.
  const ip = await freeLoopbackAddress(9200);
  const seen: string[] = [];
  const plantedCa = await TestCA.create("planted http ca");
  const names = [STS, `${STS}.${NS}.svc`, `${ES_NAME}-es-http.${NS}.svc`];
  let server = await catcher(ip, await plantedCa.issue({ cn: STS, server: { dns: names, ips: [ip] } }), seen);
  const planted = "a-planted-elasticsearch";
  try {
    await lc.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "planted-http-ca" }, stringData: { "ca.crt": plantedCa.pem } } });
    await lc.core.createNamespacedPod({
      namespace: NS,
      body: { metadata: { name: planted, labels: ES_MTLS_ES_LABELS }, spec: { nodeName: "elsewhere", containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:8.5.1" }] } },
    });
    const pod = await lc.core.readNamespacedPod({ name: planted, namespace: NS });
    pod.status = { phase: "Running", podIP: ip, podIPs: [{ ip }], conditions: [{ type: "Ready", status: "True" }] };
    await lc.core.replaceNamespacedPodStatus({ name: planted, namespace: NS, body: pod });
    await annotate(HEALTH_HTTP_CA_ANNOTATION, "planted-http-ca");
    const since = Date.now();
    await setAuthentication(lc, true);

    // Kibana is restarted first; the first Elasticsearch restart then waits on the refusal.
    const refused = await eventually(async () => {
      const c = (await status(lc))?.conditions?.find((x: any) => x.type === "PodsUpToDate");
      if (c?.reason !== "HealthSecretRefused") throw new Error(`PodsUpToDate ${c?.reason}: ${c?.message}; the planted pod saw ${seen.length} request(s)`);
      return c;
    }, { timeoutMs: 90_000, intervalMs: 500, what: "PodsUpToDate=False/HealthSecretRefused" });
    expect(refused.status).toBe("False");
    expect(refused.message).toContain(`Secret ${NS}/planted-http-ca (annotation ${HEALTH_HTTP_CA_ANNOTATION}) is not used by the pod template of StatefulSet ${STS}`);
    const events = (await lc.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === "HealthSecretRefused");
    expect(events.map((e) => [e.involvedObject.kind, e.involvedObject.name, e.type])).toEqual([["Elasticsearch", ES_NAME, "Warning"]]);
    const esEvicted = () => evictions(lc.cp.auditEvents(), since).map((e) => e.objectRef!.name!).filter((n) => n.startsWith(`${STS}-`));
    expect(esEvicted()).toEqual([]);
    expect(seen).toEqual([]);

    // The chart's own CA again; the planted pod now even serves the chart's own HTTP certificate (as
    // if its key had leaked): still never asked. The gate reads green from the StatefulSet's pods.
    const certs = (await lc.core.readNamespacedSecret({ name: CERTS_SECRET, namespace: NS })).data!;
    const text = (k: string) => Buffer.from(certs[k]!, "base64").toString();
    await new Promise((r) => server.close(r));
    server = await catcher(ip, { certPem: text("tls.crt"), key: text("tls.key") }, seen);
    await annotate(HEALTH_HTTP_CA_ANNOTATION, CERTS_SECRET);
    await annotate(HEALTH_CREDENTIALS_ANNOTATION, CREDENTIALS_SECRET);
    await eventually(async () => {
      if (!esEvicted().length) throw new Error("no Elasticsearch pod evicted yet");
    }, { timeoutMs: 60_000, intervalMs: 500, what: "the first Elasticsearch pod evicted after a green read" });
    expect(seen).toEqual([]);
  } finally {
    await new Promise((r) => server.close(r));
    await lc.core.deleteNamespacedPod({ name: planted, namespace: NS, gracePeriodSeconds: 0 }).catch(() => {});
  }
}, 150_000);

test("enable: Enabled 4/4; every ES pod Ready through the chart's curl probe under `required`, presenting the pod's probe identity; no certificate refused", async () => {
  // Switched on by the health-gate test above (which checked the pods served without a certificate), or here.
  const before = beforeEnable ?? (await esPods(lc)).map((p) => p.metadata!.uid!);
  if (!beforeEnable) for (const p of await esPods(lc)) expect(await info(p.status!.podIP!, helm.httpCaPem, undefined, helm.password)).toBe("ok");
  await setAuthentication(lc, true);
  const s = await settle("Enabled");
  expect(s.enforcement).toBe("required");

  const clientCa = firstCertificate(Buffer.from((await lc.core.readNamespacedSecret({ name: clientCaSecretName(NS, ES_NAME), namespace: CONTROLLER_NAMESPACE })).data!["tls.crt"]!, "base64").toString());
  const internal = (await lc.core.readNamespacedSecret({ name: `${ES_NAME}-es-internal-client-cert`, namespace: NS })).data!;
  const cert = { cert: Buffer.from(internal["tls.crt"]!, "base64").toString(), key: Buffer.from(internal["tls.key"]!, "base64").toString() };
  for (const pod of await esPods(lc)) {
    const name = pod.metadata!.name!;
    const podIP = pod.status!.podIP!;
    expect(before).not.toContain(pod.metadata!.uid!); // re-created by the StatefulSet, injected by the webhook
    const es = pod.spec!.containers.find((c) => c.name === "elasticsearch")!;
    expect(es.readinessProbe!.exec!.command).toEqual(["bash", "-c", helm.esReadinessScript]); // the chart's, untouched
    const env = Object.fromEntries((es.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      CURL_HOME: PROBE_DIR,
      "xpack.security.http.ssl.client_authentication": "required",
      // The chart's own HTTP CA, carried on, with the bundle appended.
      "xpack.security.http.ssl.certificate_authorities": "/usr/share/elasticsearch/config/certs/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
    });
    // The kubelet ran the chart's probe on this pod, which was created into `required`, and it passed.
    expect(lc.node!.eventsOf(NS, name, "elasticsearch").map((e) => e.event)).toContain("ready");

    // The probe identity: CN es-mtls-probe, OU the cluster, signed by the cluster's client CA; .curlrc names it.
    const local = lc.node!.pod(NS, name)!;
    const pem = await Bun.file(local.hostPath("elasticsearch", `${PROBE_DIR}/probe.pem`)).text();
    expect(pem).toContain("PRIVATE KEY"); // certificate chain and key in one file
    const leaf = firstCertificate(pem);
    expect(leaf.subject).toBe(`CN=es-mtls-probe, OU=${ES_NAME}`);
    expect(leaf.issuer).toBe(clientCa.subject);
    expect(await Bun.file(local.hostPath("elasticsearch", `${PROBE_DIR}/.curlrc`)).text()).toContain(`cert = "${PROBE_DIR}/probe.pem"`);

    // Under `required` the chart's probe passes because of that identity: the same script with
    // `curl -q` (which skips .curlrc) fails at the handshake.
    expect(await chartProbe(name, podIP)).toMatchObject({ ok: true });
    const without = await chartProbe(name, podIP, (script) => script.replace("curl --output", "curl -q --output"));
    expect(without.ok).toBe(false);
    // Clients: without a certificate refused at the TLS layer; the controller's own accepted.
    expect(await info(podIP, helm.httpCaPem, undefined, helm.password)).toStartWith("ConnectionError");
    expect(await info(podIP, helm.httpCaPem, cert, helm.password)).toBe("ok");
  }

  // Kibana: restarted first, injected, talks to Elasticsearch with its own certificate.
  const [kb] = (await kibanaPods(lc)).filter((p) => !p.metadata?.deletionTimestamp);
  expect(kb!.metadata!.annotations?.["mtls.es-mtls.io/injected"]).toBeDefined();
  const kbStatus = (await (await fetch(`http://${kb!.status!.podIP}:5601/api/status`)).json()) as { status?: { overall?: { level?: string } } };
  expect(kbStatus.status?.overall?.level).toBe("available");
}, 150_000);

test("disable: Disabled, every pod Ready through the charts' probes and serving without a certificate", async () => {
  await setAuthentication(lc, false);
  const s = await settle("Disabled");
  expect(s.enforcement).toBe("none");
  for (const pod of await esPods(lc)) {
    expect(await info(pod.status!.podIP!, helm.httpCaPem, undefined, helm.password)).toBe("ok");
    expect(await chartProbe(pod.metadata!.name!, pod.status!.podIP!)).toMatchObject({ ok: true });
  }
  for (const name of [`${ES_NAME}-es-internal-client-cert`, `${ES_NAME}-es-client-trust-bundle`]) {
    await expect(lc.core.readNamespacedSecret({ name, namespace: NS })).rejects.toThrow();
  }
  await expect(lc.core.readNamespacedSecret({ name: clientCaSecretName(NS, ES_NAME), namespace: CONTROLLER_NAMESPACE })).rejects.toThrow();
}, 150_000);
});
