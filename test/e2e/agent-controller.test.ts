// End to end: real control plane, real controller (webhooks and intent API), pods
// injected by the controller's webhook, their agents run as shipped (compiled Bun
// binary and Deno) by the test kubelet, and an Elasticsearch stand-in that reads
// what the agents write. The agents' proofs drive the controller's status.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { TestCA } from "../controlplane/certs.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";
import { servingCa } from "../support/intent-client.ts";
import { runAgentOf } from "../support/test-kubelet.ts";
import { createClientCertSecret } from "../support/client-cert-secret.ts";
import { buildBinary, killAll, tmpDir, type AgentProcess, type AgentRuntime } from "../support/agent-harness.ts";
import { freePort } from "../support/ports.ts";
import { ElasticsearchStandin } from "../fixtures/elasticsearch-standin.ts";
import { desiredMutatingWebhookConfiguration } from "../../controller/admission/configurations.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE, KIBANA_CERT_DIR, clientCaSecretName } from "../../controller/names.ts";
import { KibanaStandin } from "../fixtures/kibana-standin.ts";
import { x509 } from "../../common/x509.ts";
import { writeFileSync } from "node:fs";

const ns = "e2e";
let cp: ControlPlane;
let controller: ControllerProcess;
let kubeconfig: string;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let serverPki: { cert: string; key: string; caPem: string };
const standins: ElasticsearchStandin[] = [];
const kibanas: KibanaStandin[] = [];

const statusOf = async (): Promise<any> => ((await custom.getNamespacedCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications", namespace: ns, name: "search" })) as any).status;

async function startController(name: string, samePortsAs?: ControllerProcess) {
  controller = await ControllerProcess.start({ kubeconfig, name, namespace: "es-mtls-system", extraArgs: ["--resync=5s", "--agent-image=es-mtls-agent:test"], ...(samePortsAs ? { samePortsAs } : {}) });
  await controller.waitReady();
}

beforeAll(async () => {
  const binary = buildBinary();
  cp = await ControlPlane.start({ crds: PROJECT_CRDS });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [ns]);
  kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  await startController("controller-a");
  // The kube-apiserver calls the controller's webhook directly (no Service here).
  const mwc = desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: await servingCa(core, "es-mtls-system") });
  await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: mwc });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  const httpCa = await TestCA.create("es http ca");
  serverPki = { ...(await httpCa.issue({ subject: "CN=search-es-http", server: { dns: ["localhost"], ips: ["127.0.0.1"] } })), caPem: httpCa.pem };
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "search" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 2 }] } },
  });
  await eventually(async () => expect((await statusOf())?.phase).toBe("Enabled"), { timeoutMs: 15_000, what: "cluster enabled" });
  await binary;
}, 900_000);

afterAll(async () => {
  killAll();
  for (const s of [...standins, ...kibanas]) await s.stop();
  await controller?.stop();
  await cp?.stop();
});

interface RunningPod {
  pod: k8s.V1Pod;
  agent: AgentProcess;
  root: string;
  esPort: number;
  bundlePath: string;
}
const running: Partial<Record<AgentRuntime, RunningPod>> = {};

async function createPod(name: string): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "search", "elasticsearch.k8s.elastic.co/statefulset-name": "search-es-default" } },
      spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
    },
  });
}

describe.each(["bun-binary", "deno"] as AgentRuntime[])("an injected Elasticsearch pod with its agent on %s", (runtime) => {
  test("the pod is injected, the agent writes the bundle (0440, ..data link) and proves Elasticsearch requires certificates", async () => {
    const pod = await createPod(`search-es-default-${runtime === "deno" ? 1 : 0}`);
    const esEnv = Object.fromEntries((pod.spec!.containers.find((c) => c.name === "elasticsearch")!.env ?? []).map((e) => [e.name, e.value]));
    expect(esEnv["xpack.security.http.ssl.client_authentication"]).toBe("required");
    expect(esEnv["xpack.security.http.ssl.certificate_authorities"]).toContain(`${ES_BUNDLE_DIR}/${ES_BUNDLE_FILE}`);
    const root = tmpDir(`pod-${runtime}`);
    const esPort = freePort();
    const agent = await runAgentOf({ core, pod, runtime, root, controllerUrl: controller.url, probeUrl: `https://127.0.0.1:${esPort}` });
    await agent.waitLog((l) => l.msg === "material written", 20_000);
    const bundlePath = join(root, ES_BUNDLE_DIR, ES_BUNDLE_FILE);
    expect(statSync(bundlePath).mode & 0o777).toBe(0o440);
    expect(readlinkSync(bundlePath)).toBe(`..data/${ES_BUNDLE_FILE}`);
    const secret = await core.readNamespacedSecret({ name: "search-es-client-trust-bundle", namespace: ns });
    expect(readFileSync(bundlePath, "utf8")).toBe(atob(secret.data!["client-trust-bundle.crt"]!));
    expect((await agent.health("/startupz")).status).toBe(200);
    expect((await agent.health("/readyz")).status).toBe(503); // nothing proven yet: Elasticsearch is not running

    // The workload starts after the native sidecar's startup probe, with the injected settings.
    const dir = tmpDir(`es-${runtime}`);
    writeFileSync(join(dir, "tls.crt"), serverPki.cert);
    writeFileSync(join(dir, "tls.key"), serverPki.key);
    const es = await new ElasticsearchStandin({ keyFile: join(dir, "tls.key"), certFile: join(dir, "tls.crt"), caFiles: [bundlePath], clientAuthentication: "required", port: esPort, host: "127.0.0.1" }).start();
    standins.push(es);
    await eventually(async () => expect((await agent.health("/readyz")).status).toBe(200), { timeoutMs: 30_000, what: "agent proves the reload" });
    const entry = await eventually(async () => {
      const e = (await statusOf()).pods.find((p: any) => p.name === pod.metadata!.name);
      expect(e?.withoutCertificate).toBe("refused");
      expect(e?.withCertificate).toBe("accepted");
      return e;
    }, { timeoutMs: 15_000, what: "the controller records the proof" });
    expect(entry.ready).toBe(true);
    running[runtime] = { pod, agent, root, esPort, bundlePath };
  });

  test("an intent change (a newly trusted client certificate) is on the agent's disk in under 1 s, and Elasticsearch accepts that client", async () => {
    const r = running[runtime]!;
    let kb: any;
    try {
      kb = await custom.getNamespacedCustomObject({ ...KB, namespace: ns, name: "kb" });
    } catch {
      kb = await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "search" } } } });
    }
    const client = await (await TestCA.create(`client-${runtime}`)).issue({ subject: `CN=client-${runtime}`, client: true });
    const line = client.cert.split("\n")[1]!;
    const started = Date.now();
    await createClientCertSecret(core, { namespace: ns, name: `client-${runtime}`, es: "search", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: client.cert });
    await eventually(() => expect(readFileSync(r.bundlePath, "utf8")).toContain(line), { timeoutMs: 1000, intervalMs: 10, what: "bundle on the agent's disk within 1 s" });
    const ms = Date.now() - started;
    console.error(`${runtime}: Secret created → bundle on the agent's disk in ${ms} ms`);
    expect(statSync(r.bundlePath).mode & 0o777).toBe(0o440);
    // Elasticsearch polls every 5 s; then the new client is accepted.
    const tls = await import("node:tls");
    const handshake = () =>
      new Promise<boolean>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: r.esPort, cert: client.cert, key: client.key, rejectUnauthorized: false }, () => {
          s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n");
        });
        s.once("data", () => (s.destroy(), resolve(true)));
        s.once("error", () => resolve(false));
        s.once("close", () => resolve(false));
      });
    await eventually(async () => expect(await handshake()).toBe(true), { timeoutMs: 12_000, intervalMs: 500, what: "new client accepted by Elasticsearch" });
  });
});

test("with the controller stopped for 40 s, agents stay ready on their material, then catch up", async () => {
  const pods = Object.values(running) as RunningPod[];
  expect(pods.length).toBe(2);
  await controller.stop();
  // 40 s: past the heartbeat timeout and every reconnect backoff step up to its 30 s cap.
  for (let waited = 0; waited < 40_000; waited += 10_000) {
    await Bun.sleep(10_000);
    for (const r of pods) {
      expect((await r.agent.health("/healthz")).status).toBe(200);
      expect((await r.agent.health("/readyz")).status).toBe(200);
    }
  }
  await startController("controller-b", controller);
  // A change made while it was away reaches every agent.
  const client = await (await TestCA.create("late")).issue({ subject: "CN=late-client", client: true });
  const kb: any = await custom.getNamespacedCustomObject({ ...KB, namespace: ns, name: "kb" });
  await createClientCertSecret(core, { namespace: ns, name: "late-client", es: "search", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: client.cert });
  for (const r of pods) {
    await eventually(() => expect(readFileSync(r.bundlePath, "utf8")).toContain(client.cert.split("\n")[1]!), { timeoutMs: 30_000, intervalMs: 200, what: "agent caught up" });
  }
}, 180_000);

test("a Kibana pod's agent gets its identity from the controller (CSR signed by the cluster CA), and Kibana reaches the Elasticsearch that requires certificates", async () => {
  const es = running["bun-binary"]!;
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: "kb-kb-0", labels: { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": "kb" } },
      spec: { containers: [{ name: "kibana", image: "docker.elastic.co/kibana/kibana:9.4.0" }] },
    },
  });
  const kbEnv = Object.fromEntries((pod.spec!.containers.find((c) => c.name === "kibana")!.env ?? []).map((e) => [e.name, e.value]));
  expect(kbEnv.ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE).toBe("true");
  expect(kbEnv.ELASTICSEARCH_SSL_CERTIFICATE).toBe(`${KIBANA_CERT_DIR}/tls.crt`);
  const root = tmpDir("pod-kibana");
  const kbPort = freePort();
  const agent = await runAgentOf({ core, pod, runtime: "deno", root, controllerUrl: controller.url, probeUrl: `http://127.0.0.1:${kbPort}` });
  await agent.waitLog((l) => l.msg === "material written", 20_000);
  const certFile = join(root, KIBANA_CERT_DIR, "tls.crt");
  const keyFile = join(root, KIBANA_CERT_DIR, "tls.key");
  const leaf = new x509.X509Certificate(readFileSync(certFile, "utf8"));
  expect(leaf.subjectName.getField("CN")).toEqual(["kb"]);
  const clusterCa = new x509.X509Certificate(atob((await core.readNamespacedSecret({ name: clientCaSecretName(ns, "search"), namespace: "es-mtls-system" })).data!["tls.crt"]!));
  expect(await leaf.verify({ publicKey: clusterCa.publicKey, signatureOnly: true })).toBe(true);
  expect(readFileSync(keyFile, "utf8")).toContain("BEGIN PRIVATE KEY"); // PKCS#8, generated in the pod
  expect(statSync(keyFile).mode & 0o777).toBe(0o440);
  // Kibana starts after its sidecar wrote the files, and reads them once.
  const caFile = join(root, "es-http-ca.crt");
  writeFileSync(caFile, serverPki.caPem);
  const kibana = await new KibanaStandin({ esUrl: `https://127.0.0.1:${es.esPort}`, certFile, keyFile, esCaFile: caFile, port: kbPort, healthCheckMs: 500 }).start();
  kibanas.push(kibana);
  await eventually(() => expect(`${kibana.esLevel}: ${kibana.esSummary}`).toStartWith("available"), { timeoutMs: 10_000, what: "Kibana reaches Elasticsearch with its certificate" });
  await eventually(async () => expect((await agent.health("/readyz")).status).toBe(200), { timeoutMs: 20_000, what: "Kibana agent ready" });
});
