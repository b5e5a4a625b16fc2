// Offboarding: the controller is uninstalled (stopped for good, its webhook configurations deleted
// as `kubectl delete -k deploy/` would) while a cluster is Enabled. Running pods keep their
// material: the agent stays ready on what it proved, Elasticsearch keeps requiring client
// certificates and keeps accepting the certificates it trusted, and nothing in the API changes.
// Real control plane, real controller, the agent as shipped (compiled Bun binary), an ES stand-in.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import * as tls from "node:tls";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH as ES } from "../../controller/resources.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { TestCA } from "../controlplane/certs.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";
import { servingCa } from "../support/intent-client.ts";
import { runAgentOf } from "../support/test-kubelet.ts";
import { buildBinary, killAll, tmpDir, type AgentProcess } from "../support/agent-harness.ts";
import { freePort } from "../support/ports.ts";
import { ElasticsearchStandin } from "../fixtures/elasticsearch-standin.ts";
import { desiredMutatingWebhookConfiguration } from "../../controller/admission/configurations.ts";
import { isNotFound } from "../../controller/kube/api-error.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE, WEBHOOK_CONFIGURATION_NAME, clientCaSecretName } from "../../controller/names.ts";

const ns = "offboard";
let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let admission: k8s.AdmissionregistrationV1Api;
let standin: ElasticsearchStandin | undefined;
let agent: AgentProcess;
let esPort: number;

const statusOf = async (): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "search" })) as any).status;

beforeAll(async () => {
  const binary = buildBinary();
  cp = await ControlPlane.start({ crds: PROJECT_CRDS });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  admission = cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api);
  await prepareCluster(core, [ns]);
  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]), name: "controller", namespace: "es-mtls-system", extraArgs: ["--resync=5s", "--agent-image=es-mtls-agent:test"] });
  await controller.waitReady();
  await admission.createMutatingWebhookConfiguration({ body: desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: await servingCa(core, "es-mtls-system") }) });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "search" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 1 }] } },
  });
  await eventually(async () => expect((await statusOf())?.phase).toBe("Enabled"), { timeoutMs: 15_000, what: "cluster enabled" });
  await binary;
}, 900_000);

afterAll(async () => {
  killAll();
  await standin?.stop();
  await controller?.stop();
  await cp?.stop();
});

/** True when the stand-in answers an HTTP request over a handshake with this client identity (or none). */
function answers(identity?: { cert: string; key: string }): Promise<boolean> {
  return new Promise((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port: esPort, ...(identity ?? {}), rejectUnauthorized: false }, () => s.write("GET / HTTP/1.1\r\nhost: x\r\n\r\n"));
    s.once("data", () => (s.destroy(), resolve(true)));
    s.once("error", () => resolve(false));
    s.once("close", () => resolve(false));
  });
}

test("uninstalled with the cluster Enabled: the pod stays ready and keeps enforcing, nothing in the API changes", async () => {
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: "search-es-default-0", labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "search", "elasticsearch.k8s.elastic.co/statefulset-name": "search-es-default" } },
      spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
    },
  });
  const root = tmpDir("pod-offboard");
  esPort = freePort();
  agent = await runAgentOf({ core, pod, runtime: "bun-binary", root, controllerUrl: controller.url, probeUrl: `https://127.0.0.1:${esPort}` });
  await agent.waitLog((l) => l.msg === "material written", 20_000);
  const httpCa = await TestCA.create("es http ca");
  const server = await httpCa.issue({ subject: "CN=search-es-http", server: { dns: ["localhost"], ips: ["127.0.0.1"] } });
  const dir = tmpDir("es-offboard");
  writeFileSync(join(dir, "tls.crt"), server.cert);
  writeFileSync(join(dir, "tls.key"), server.key);
  standin = await new ElasticsearchStandin({ keyFile: join(dir, "tls.key"), certFile: join(dir, "tls.crt"), caFiles: [join(root, ES_BUNDLE_DIR, ES_BUNDLE_FILE)], clientAuthentication: "required", port: esPort, host: "127.0.0.1" }).start();
  await eventually(async () => expect((await agent.health("/readyz")).status).toBe(200), { timeoutMs: 30_000, what: "agent proves required" });
  await eventually(async () => {
    const s = await statusOf();
    expect(s.phase).toBe("Enabled");
    expect(s.podsProven).toBe("1/1");
  }, { timeoutMs: 15_000, what: "Enabled, pod proven" });
  const internal = await core.readNamespacedSecret({ name: "search-es-internal-client-cert", namespace: ns });
  const controllerIdentity = { cert: atob(internal.data!["tls.crt"]!), key: atob(internal.data!["tls.key"]!) };
  await eventually(async () => expect(await answers(controllerIdentity)).toBe(true), { timeoutMs: 12_000, what: "the controller's certificate accepted" });

  // What must not change, by resourceVersion.
  const secrets = [{ namespace: "es-mtls-system", name: clientCaSecretName(ns, "search") }, ...["search-es-internal-client-cert", "search-es-client-trust-bundle"].map((name) => ({ namespace: ns, name }))];
  const versions = async () => ({
    es: ((await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "search" })) as any).metadata.resourceVersion,
    status: ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "search" })) as any).metadata.resourceVersion,
    pod: (await core.readNamespacedPod({ namespace: ns, name: "search-es-default-0" })).metadata!.resourceVersion,
    secrets: await Promise.all(secrets.map(async (ref) => (await core.readNamespacedSecret(ref)).metadata!.resourceVersion)),
  });
  const before = await versions();

  // Uninstall as `kubectl delete -k deploy/` would: the controller goes for good, and so do the
  // webhook configurations (the validating one is not created in this test: NotFound is fine).
  await controller.stop();
  await admission.deleteMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
  try {
    await admission.deleteValidatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION_NAME });
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }

  // For 20 s (polled every second): ready, still refusing a client without a certificate, still
  // accepting the certificate the controller issued before it left.
  const until = Date.now() + 20_000;
  let polls = 0;
  while (Date.now() < until) {
    expect((await agent.health("/healthz")).status).toBe(200);
    expect((await agent.health("/readyz")).status).toBe(200);
    expect(await answers()).toBe(false);
    expect(await answers(controllerIdentity)).toBe(true);
    polls++;
    await Bun.sleep(1000);
  }
  expect(polls).toBeGreaterThan(10);
  expect(await versions()).toEqual(before);
}, 180_000);
