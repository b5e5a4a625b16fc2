// `npm start`: es-mtls running locally, end to end. A real control plane, the
// controller (intent API and webhooks), an Elasticsearch with client
// authentication on, and its two pods run as local processes by the test kubelet:
// each the agent as shipped (compiled binary) plus an Elasticsearch stand-in that
// reads what the agent writes. Prints where everything is; Ctrl-C tears it down.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { TestCA } from "../support/test-ca.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { servingCa } from "../support/intent-client.ts";
import { runAgentOf } from "../support/test-kubelet.ts";
import { buildBinary, killAll, tmpDir, type AgentProcess } from "../agent/harness.ts";
import { freePort } from "../support/ports.ts";
import { ElasticsearchStandin } from "../fixtures/elasticsearch-standin.ts";
import { desiredMutatingWebhookConfiguration } from "../../controller/admission/configurations.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH } from "../../controller/kube/resources.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE } from "../../controller/names.ts";

const say = (line: string) => console.log(`[es-mtls] ${line}`);
const ns = "demo";
const pods = ["quickstart-es-default-0", "quickstart-es-default-1"];

say("starting a real control plane (the first run builds it from the Kubernetes Go modules: minutes)");
const cp = await ControlPlane.start({ crds: PROJECT_CRDS, log: say });
const standins: ElasticsearchStandin[] = [];
const agents: AgentProcess[] = [];
let controller: ControllerProcess | undefined;

async function teardown(code: number) {
  say("tearing down");
  killAll();
  for (const s of standins) await s.stop().catch(() => {});
  await controller?.stop();
  await cp.stop();
  process.exit(code);
}
process.once("SIGINT", () => void teardown(0));
process.once("SIGTERM", () => void teardown(0));

try {
  const admin = cp.kubeConfig();
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const custom = admin.makeApiClient(k8s.CustomObjectsApi);
  for (const n of [ns, "es-mtls-system", "elastic-system"]) await core.createNamespace({ body: { metadata: { name: n } } });
  await core.createNamespacedConfigMap({ namespace: "elastic-system", body: { metadata: { name: "elastic-licensing" }, data: { eck_license_level: "enterprise_trial" } } });
  const binary = buildBinary();

  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]), name: "controller-0", namespace: "es-mtls-system" });
  await controller.waitReady();
  await admin.makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({
    body: desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: await servingCa(core, "es-mtls-system") }),
  });
  say(`controller up: intent API ${controller.url}, metrics http://127.0.0.1:${controller.healthPort}/metrics`);

  await custom.createNamespacedCustomObject({
    ...ELASTICSEARCH,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "quickstart" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 2 }] } },
  });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default ServiceAccount" });
  // Pods created from now on are injected (ECK would create them from its StatefulSet).
  await eventually(async () => {
    const s = ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "quickstart" })) as { status?: { phase?: string } }).status;
    if (s?.phase !== "Enabled") throw new Error(`phase ${s?.phase}`);
  }, { timeoutMs: 30_000, what: "client authentication switched on" });
  const http = await (await TestCA.create("quickstart-es-http-ca")).issue({ subject: "CN=quickstart-es-http", server: { dns: ["localhost"], ips: ["127.0.0.1"] } });
  await binary;

  for (const name of pods) {
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "quickstart" } },
        spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
      },
    });
    const root = tmpDir(name);
    const esPort = freePort();
    const agent = await runAgentOf({ core, pod, runtime: "bun-binary", root, controllerUrl: controller.url, probeUrl: `https://127.0.0.1:${esPort}` });
    agents.push(agent);
    await agent.waitLog((l) => l.msg === "material written", 30_000);
    writeFileSync(join(root, "http.crt"), http.cert);
    writeFileSync(join(root, "http.key"), http.key);
    const es = await new ElasticsearchStandin({
      keyFile: join(root, "http.key"),
      certFile: join(root, "http.crt"),
      caFiles: [join(root, ES_BUNDLE_DIR, ES_BUNDLE_FILE)],
      clientAuthentication: "required",
      port: esPort,
      host: "127.0.0.1",
    }).start();
    standins.push(es);
    say(`pod ${name}: agent health http://127.0.0.1:${agent.healthPort}/status, Elasticsearch stand-in https://127.0.0.1:${esPort} (client certificates required), files under ${root}`);
  }

  const status = await eventually(
    async () => {
      const s = ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "quickstart" })) as { status?: Record<string, unknown> }).status;
      if (s?.phase !== "Enabled" || s.podsProven !== "2/2") throw new Error(`phase ${s?.phase}, proven ${s?.podsProven}`);
      return s;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: "every pod proven" },
  );
  say(`ClientAuthentication ${ns}/quickstart: phase ${status.phase}, enforcement ${status.enforcement}, proven ${status.podsProven}, bundle ${status.bundleHash}, earliest expiry ${status.earliestExpiry}`);
  say(`kubeconfig (admin): ${cp.certKubeconfigPath}  e.g.  KUBECONFIG=${cp.certKubeconfigPath} kubectl get clientauthentications -A`);
  say("running; Ctrl-C stops everything");
} catch (e) {
  say(`failed: ${e instanceof Error ? e.message : String(e)}`);
  if (controller) for (const l of controller.logs.slice(-20)) console.error(l);
  await teardown(1);
}
