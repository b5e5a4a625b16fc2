// Issue 8, item 5 ("the expiring-user-cert test"): real control plane, real controller (its webhook
// injects the pods, its intent API feeds the agents), one ES pod per agent runtime with the ES
// stand-in reading what its agent writes. A labelled user client certificate expires a few seconds
// into the test: no ES pod leaves Ready, the controller drops the certificate from the bundle within
// ~2 s of its notAfter (it re-reconciles then; the resync is 5 minutes), and the agents' disks follow.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
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
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE } from "../../controller/names.ts";

const ns = "expiry";
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
const standins: ElasticsearchStandin[] = [];
const pods: Array<{ name: string; agent: AgentProcess; bundlePath: string }> = [];

const statusOf = async (): Promise<any> => ((await custom.getNamespacedCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications", namespace: ns, name: "search" })) as any).status;
const secretBundle = async () => atob((await core.readNamespacedSecret({ name: "search-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!);

beforeAll(async () => {
  const binary = buildBinary();
  cp = await ControlPlane.start({ crds: PROJECT_CRDS });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [ns]);
  const kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  // The default resync (5 minutes), said out loud: only the bundle's own requeue can be in time.
  controller = await ControllerProcess.start({ kubeconfig, name: "controller-a", namespace: "es-mtls-system", extraArgs: ["--resync=5m", "--agent-image=es-mtls-agent:test"] });
  await controller.waitReady();
  const mwc = desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: await servingCa(core, "es-mtls-system") });
  await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: mwc });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "search" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 2 }] } },
  });
  await eventually(async () => expect((await statusOf())?.phase).toBe("Enabled"), { timeoutMs: 15_000, what: "cluster enabled" });
  await binary;

  const httpCa = await TestCA.create("es http ca");
  const serverPki = await httpCa.issue({ subject: "CN=search-es-http", server: { dns: ["localhost"], ips: ["127.0.0.1"] } });
  for (const [i, runtime] of (["bun-binary", "deno"] as AgentRuntime[]).entries()) {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `search-es-default-${i}`, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "search", "elasticsearch.k8s.elastic.co/statefulset-name": "search-es-default" } },
        spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
      },
    });
    const root = tmpDir(`pod-${runtime}`);
    const esPort = freePort();
    const agent = await runAgentOf({ core, pod, runtime, root, controllerUrl: controller.url, probeUrl: `https://127.0.0.1:${esPort}` });
    await agent.waitLog((l) => l.msg === "material written", 20_000);
    const bundlePath = join(root, ES_BUNDLE_DIR, ES_BUNDLE_FILE);
    const dir = tmpDir(`es-${runtime}`);
    writeFileSync(join(dir, "tls.crt"), serverPki.cert);
    writeFileSync(join(dir, "tls.key"), serverPki.key);
    standins.push(await new ElasticsearchStandin({ keyFile: join(dir, "tls.key"), certFile: join(dir, "tls.crt"), caFiles: [bundlePath], clientAuthentication: "required", port: esPort, host: "127.0.0.1", reloadMs: 300 }).start());
    pods.push({ name: pod.metadata!.name!, agent, bundlePath });
  }
  for (const p of pods) await eventually(async () => expect((await p.agent.health("/readyz")).status).toBe(200), { timeoutMs: 30_000, what: `${p.name} ready` });
}, 900_000);

afterAll(async () => {
  killAll();
  for (const s of standins) await s.stop();
  await controller?.stop();
  await cp?.stop();
});

test("expiring user certificate: no ES pod leaves Ready", async () => {
  const kb: any = await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "search" } } } });
  const user = await (await TestCA.create("user ca")).issue({ subject: "CN=expiring-user", client: true, notAfter: new Date(Date.now() + 8000) });
  const notAfter = user.certificate.notAfter.getTime(); // second precision, as X.509 keeps it
  const line = user.cert.split("\n")[1]!;
  await createClientCertSecret(core, { namespace: ns, name: "expiring-user", es: "search", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: user.cert });
  for (const p of pods) await eventually(() => expect(readFileSync(p.bundlePath, "utf8")).toContain(line), { timeoutMs: 5000, intervalMs: 50, what: `${p.name}: the user certificate on disk` });
  expect(Date.now()).toBeLessThan(notAfter - 1000); // the test really watches the expiry

  // Every ~200 ms until the certificate is gone everywhere (and at least 3 s past its notAfter):
  // every agent's /readyz is 200, and the time the Secret's bundle first lacks it is recorded.
  let leftSecretAt: number | undefined;
  let polls = 0;
  for (;;) {
    const now = Date.now();
    for (const p of pods) {
      const r = await p.agent.health("/readyz");
      expect(r.status, `${p.name} /readyz at notAfter${now >= notAfter ? "+" : ""}${now - notAfter} ms: ${r.text}`).toBe(200);
    }
    polls++;
    if (leftSecretAt === undefined && !(await secretBundle()).includes(line)) leftSecretAt = Date.now();
    const onDisks = pods.map((p) => readFileSync(p.bundlePath, "utf8").includes(line));
    if (leftSecretAt !== undefined && !onDisks.some(Boolean) && now > notAfter + 3000) break;
    if (now > notAfter + 20_000) throw new Error(`the certificate is still in ${leftSecretAt === undefined ? "the Secret" : "an agent's bundle"} 20 s after its notAfter`);
    await Bun.sleep(200);
  }
  console.error(`user certificate left the bundle Secret ${leftSecretAt! - notAfter} ms after its notAfter (${polls} polls, every pod ready throughout)`);
  expect(leftSecretAt!).toBeGreaterThanOrEqual(notAfter); // never before it expired
  expect(leftSecretAt! - notAfter).toBeLessThanOrEqual(2500); // the requeue at notAfter + 1 s, plus a poll
  // The agents end on the controller's bundle (the new intent), not only on their own pruning.
  const final = await secretBundle();
  for (const p of pods) await eventually(() => expect(readFileSync(p.bundlePath, "utf8")).toBe(final), { timeoutMs: 5000, intervalMs: 100, what: `${p.name}: the controller's bundle on disk` });
  const st = await statusOf();
  for (const p of pods) expect(st.pods.find((e: any) => e.name === p.name)?.ready).toBe(true);
}, 120_000);
