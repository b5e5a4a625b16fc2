// Run by private-network.test.ts inside a network namespace of its own (private-network.ts); skipped
// anywhere else. Issue 20 item 4, as a user installs es-mtls: `helm install` of deploy/chart into the
// test control plane; the controller runs as the chart's pods, from its image (test/images/), on the
// test node; kube-apiserver (--enable-aggregator-routing=true) reaches the pod webhook through the
// chart's Service and the EndpointSlices kube-controller-manager makes from those pods; agents, from
// their image, reach the intent API through its Service name (the cluster-DNS stand-in). Then a
// 3-node cluster with a Kibana through enable → Enabled; `helm upgrade` to a second image tag while it is Enabled and
// the official client sends requests with a user's certificate (none refused; agents keep theirs until
// their pod restarts, and the status names each pod's); disable → Disabled; `helm uninstall`.
//
// What the test node adds, because its pods share one network namespace (test/node/README.md): each
// controller pod listens on its pod IP (ES_MTLS_INTENT_API_ADDRESS, as the agent image runner sets
// the agent's health address), where a cluster gives every pod its own 0.0.0.0.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { execFileSync } from "node:child_process";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { TestNode } from "../node/node.ts";
import { imageRunner } from "../node/image-runner.ts";
import { agentImageRunner } from "../node/fixtures/agent-runner.ts";
import { ClusterDns, elasticsearchRunner } from "../node/fixtures/standin-runners.ts";
import { localImage } from "../images/build.ts";
import { eventually } from "../support/eventually.ts";
import { CHART, runHelm, skipReason as helmMissing } from "../support/helm-chart.ts";
import { createQuickstart, ES_NAME, ES_SELECTOR, NS, PASSWORD, REPLICAS } from "../e2e/lifecycle/cluster.ts";
import { LoadClient, type ClientCert } from "../e2e/load/client.ts";
import { PhaseView, PodView } from "../e2e/load/views.ts";
import { createClientCertSecret } from "../support/client-cert-secret.ts";
import { selfSignedClient } from "../support/test-ca.ts";
import { createKibana, KB_SELECTOR } from "../local-cluster/kibana.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH } from "../../controller/resources.ts";
import { inPrivateNetwork, privatePodNetwork } from "./private-network.ts";

const SYSTEM = "es-mtls-system";
const log = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const images = inPrivateNetwork ? { controller: localImage("controller", log), agent: localImage("agent", log) } : undefined;
const missing = !inPrivateNetwork
  ? "runs only inside its private network namespace (private-network.test.ts starts it)"
  : helmMissing ?? ("unavailable" in images!.controller ? images!.controller.unavailable : "unavailable" in images!.agent ? images!.agent.unavailable : undefined);
if (inPrivateNetwork && missing) console.error(`skipping the install e2e: ${missing}`);
const ref = (i: { ref: string } | { unavailable: string } | undefined) => (i && "ref" in i ? i.ref : "");
/** The second tag an upgrade moves to: the same image under another name, as a release would bring. */
const next = (r: string) => `${r}-next`;

let cp: ControlPlane;
let dns: ClusterDns;
let node: TestNode;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let apps: k8s.AppsV1Api;
let httpCaPem = "";

const helm = (args: string[]) => runHelm([...args, "--kubeconfig", cp.certKubeconfigPath]);

beforeAll(async () => {
  if (missing) return;
  for (const r of [ref(images!.controller), ref(images!.agent)]) execFileSync("podman", ["tag", r, next(r)]);
  cp = await ControlPlane.start({ crds: [], audit: true, extraControllers: ["endpointslice-controller"], apiserverArgs: ["--enable-aggregator-routing=true"], log });
  const kc = cp.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  apps = kc.makeApiClient(k8s.AppsV1Api);
  dns = await ClusterDns.start(kc, 250, log);
  node = await TestNode.start({
    kubeConfig: kc,
    log,
    podNetwork: privatePodNetwork(),
    runners: [
      elasticsearchRunner({ hostsFile: dns.file }),
      imageRunner({ images: [ref(images!.controller), next(ref(images!.controller))], hostsFile: dns.file, env: (ctx) => ({ ES_MTLS_INTENT_API_ADDRESS: ctx.podIP }) }),
      agentImageRunner({ image: ref(images!.agent), hostsFile: dns.file }),
      agentImageRunner({ image: next(ref(images!.agent)), hostsFile: dns.file }),
    ],
  });
}, 180_000);

afterAll(async () => {
  await node?.stop();
  dns?.stop();
  await cp?.stop();
  if (images && !missing) for (const r of [ref(images.controller), ref(images.agent)]) execFileSync("podman", ["untag", next(r), next(r)], { stdio: "ignore" });
});

const controllerPods = async () => (await core.listNamespacedPod({ namespace: SYSTEM, labelSelector: "app.kubernetes.io/name=es-mtls-controller" })).items.filter((p) => !p.metadata?.deletionTimestamp);
const ready = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

async function webhookEndpoints(): Promise<string[]> {
  const slices = await cp.kubeConfig().makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: SYSTEM, labelSelector: "kubernetes.io/service-name=es-mtls-controller-webhook" });
  return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses)).sort();
}

async function status(): Promise<Record<string, any> | undefined> {
  try {
    return ((await custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: NS, name: ES_NAME })) as { status?: Record<string, any> }).status;
  } catch {
    return undefined;
  }
}

const esPods = async () => (await core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items.filter((p) => !p.metadata?.deletionTimestamp);
const switchTo = (on: boolean) => custom.patchNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME, body: [{ op: "add", path: "/spec/http", value: { tls: { client: { authentication: on } } } }] });

/** A user's client certificate, trusted through a labelled Secret owned by the Elasticsearch (the key stays here). */
async function userIdentity(name: string): Promise<ClientCert> {
  const leaf = await selfSignedClient({ cn: name });
  const es = (await custom.getNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME })) as { metadata: k8s.V1ObjectMeta };
  await createClientCertSecret(core, { namespace: NS, name, es: ES_NAME, owner: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: ES_NAME, uid: es.metadata.uid! }, certPem: leaf.certPem });
  return { cert: leaf.certPem, key: leaf.key };
}

/** Waits until every Elasticsearch pod answers the official client presenting `cert`. */
async function acceptedEverywhere(cert: ClientCert, what: string): Promise<void> {
  await eventually(async () => {
    for (const p of await esPods()) {
      const client = new Client({ node: `https://${p.status!.podIP}:9200`, Connection: HttpConnection, agent: { keepAlive: false }, tls: { ca: httpCaPem, ...cert, checkServerIdentity: () => undefined }, auth: { username: "elastic", password: PASSWORD }, maxRetries: 0, requestTimeout: 5000 });
      try {
        await client.info();
      } catch (e) {
        throw new Error(`${p.metadata!.name}: ${(e as Error).message}`);
      } finally {
        await client.close();
      }
    }
  }, { timeoutMs: 60_000, intervalMs: 1000, what });
}

async function settle(phase: "Enabled" | "Disabled"): Promise<Record<string, any>> {
  return eventually(async () => {
    const s = await status();
    if (s?.phase !== phase) throw new Error(`phase ${s?.phase}, proven ${s?.podsProven}: ${s?.conditions?.map((c: any) => `${c.type}=${c.status} ${c.message ?? ""}`).join("; ")}`);
    const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items;
    if (pods.length !== REPLICAS || !pods.every(ready)) throw new Error(`${pods.filter(ready).length}/${REPLICAS} Elasticsearch pods ready`);
    const kibana = (await core.listNamespacedPod({ namespace: NS, labelSelector: KB_SELECTOR })).items;
    if (kibana.length !== 1 || !kibana.every(ready)) throw new Error(`${kibana.filter(ready).length}/${kibana.length} Kibana pods ready`);
    return s;
  }, { timeoutMs: 240_000, intervalMs: 1000, what: `phase ${phase} with every pod ready` });
}

describe.skipIf(!!missing)("es-mtls installed with helm, the controller as pods from its image", () => {
  test("helm install: two controller pods from the image, Ready, at pod IPs; one leader", async () => {
    const r = helm(["install", "es-mtls", CHART, "--set", `image.controller=${ref(images!.controller)}`, "--set", `image.agent=${ref(images!.agent)}`, "--set", "standaloneCrds.enabled=true"]);
    expect({ status: r.status, stderr: r.stderr.split("\n").filter((l) => l && !l.includes("symbolic link")) }).toEqual({ status: 0, stderr: [] });
    const pods = await eventually(async () => {
      const ps = await controllerPods();
      if (ps.length !== 2 || !ps.every(ready)) throw new Error(`${ps.filter(ready).length}/2 controller pods ready: ${ps.map((p) => `${p.metadata!.name} ${p.status?.phase} ${JSON.stringify(p.status?.containerStatuses?.[0]?.state)}`).join("; ")}`);
      return ps;
    }, { timeoutMs: 180_000, intervalMs: 1000, what: "the chart's controller pods Ready" });
    for (const p of pods) {
      expect(p.spec!.containers[0]!.image).toBe(ref(images!.controller));
      expect(p.status!.podIP).toMatch(/^10\.244\./);
    }
    await eventually(async () => {
      const leaders = (await controllerPods()).filter((p) => p.metadata?.labels?.["mtls.es-mtls.io/leader"] === "true");
      expect(leaders).toHaveLength(1);
    }, { timeoutMs: 60_000, what: "one leader pod labelled" });
  }, 240_000);

  test("the pod webhook is reached through the chart's Service: its EndpointSlice holds both pods, and the controller filled in its CA", async () => {
    const ips = (await controllerPods()).map((p) => p.status!.podIP!).sort();
    await eventually(async () => expect(await webhookEndpoints()).toEqual(ips), { timeoutMs: 60_000, what: "the webhook Service's endpoints" });
    await eventually(async () => {
      const mwc = await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "es-mtls" });
      expect(mwc.webhooks![0]!.clientConfig.caBundle ?? "").not.toBe("");
    }, { timeoutMs: 60_000, what: "the webhook's caBundle" });
  }, 120_000);

  test("enable → Enabled on a 3-node cluster with a Kibana: every pod injected through the Service, agents from their image", async () => {
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: NS }), { timeoutMs: 30_000, what: "default ServiceAccount" });
    httpCaPem = await createQuickstart(cp.kubeConfig());
    await eventually(async () => {
      const pods = (await core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items;
      if (pods.length !== REPLICAS || !pods.every(ready)) throw new Error(`${pods.filter(ready).length}/${REPLICAS} ready`);
    }, { timeoutMs: 90_000, what: "the cluster's pods Ready" });
    const byName = (a: k8s.V1Pod, b: k8s.V1Pod) => a.metadata!.name!.localeCompare(b.metadata!.name!);
    await createKibana({ node, dns, core, custom, apps, pods: async () => (await esPods()).sort(byName) });
    await eventually(async () => {
      const kibana = (await core.listNamespacedPod({ namespace: NS, labelSelector: KB_SELECTOR })).items;
      if (kibana.length !== 1 || !kibana.every(ready)) throw new Error(`${kibana.filter(ready).length}/${kibana.length} Kibana pods ready`);
    }, { timeoutMs: 90_000, what: "the Kibana pod Ready" });
    await switchTo(true);
    const enabled = await settle("Enabled");
    expect(enabled.podsProven).toBe(`${REPLICAS + 1}/${REPLICAS + 1}`);
    const injected = [...(await core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items, ...(await core.listNamespacedPod({ namespace: NS, labelSelector: KB_SELECTOR })).items];
    for (const p of injected) {
      const agent = [...(p.spec!.initContainers ?? []), ...p.spec!.containers].find((c) => c.image === ref(images!.agent));
      expect(agent, `${p.metadata!.name} carries the agent image`).toBeDefined();
    }
    expect(enabled.pods.map((e: any) => e.agentImage)).toEqual(Array(REPLICAS + 1).fill(ref(images!.agent)));
  }, 420_000);

  test("helm upgrade to a second image tag while Enabled, under load: no correct request refused; agents follow the new controller and keep their image until their pod restarts, which the status shows per pod", async () => {
    const user = await userIdentity("upgrade-user-client-cert");
    await acceptedEverywhere(user, "the user's certificate accepted by every pod before the upgrade");
    const pods = new PodView();
    await pods.start(cp.kubeConfig());
    const phase = new PhaseView();
    await phase.start({ status });
    const load = new LoadClient(pods, phase, httpCaPem);
    load.transition = "upgrade";
    load.start([{ name: "user", kind: "correct", cert: () => user }]);
    let second: ClientCert | undefined;
    try {
      const r = helm(["upgrade", "es-mtls", CHART, "--reuse-values", "--set", `image.controller=${next(ref(images!.controller))}`, "--set", `image.agent=${next(ref(images!.agent))}`]);
      expect({ status: r.status, stderr: r.stderr.split("\n").filter((l) => l && !l.includes("symbolic link")) }).toEqual({ status: 0, stderr: [] });
      await eventually(async () => {
        const ps = await controllerPods();
        const upgraded = ps.filter((p) => p.spec!.containers[0]!.image === next(ref(images!.controller)) && ready(p));
        const leaders = ps.filter((p) => p.metadata?.labels?.["mtls.es-mtls.io/leader"] === "true");
        if (ps.length !== 2 || upgraded.length !== 2 || leaders.length !== 1) throw new Error(`${ps.length} controller pods, ${upgraded.length} upgraded and ready, ${leaders.length} leader(s)`);
      }, { timeoutMs: 180_000, intervalMs: 1000, what: "both controller pods replaced by the upgraded image, one leader" });
      // A trust change after the upgrade reaches every pod: the agents (still the old image) follow the new leader.
      second = await userIdentity("after-upgrade-client-cert");
      await acceptedEverywhere(second, "a certificate added after the upgrade accepted by every pod");
    } finally {
      await load.stop();
      await pods.stop();
      await phase.stop();
    }
    const sent = load.records.filter((x) => x.identity === "user");
    const refused = sent.filter((x) => x.raw !== "ok");
    expect(sent.length).toBeGreaterThan(20);
    expect(refused.map((x) => `${x.pod.name} ${x.raw} ${x.detail ?? ""}`)).toEqual([]);

    // Version skew, visible: a pod re-created after the upgrade gets the new agent, the others keep theirs.
    const first = (await esPods()).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!))[0]!;
    await core.deleteNamespacedPod({ namespace: NS, name: first.metadata!.name! });
    const after = await eventually(async () => {
      const s = await settle("Enabled");
      const entry = s.pods.find((e: any) => e.name === first.metadata!.name);
      if (!entry || entry.uid === first.metadata!.uid) throw new Error(`${first.metadata!.name} not re-created yet`);
      return s;
    }, { timeoutMs: 240_000, intervalMs: 1000, what: `${first.metadata!.name} re-created with the new agent` });
    const agentImages = Object.fromEntries(after.pods.filter((e: any) => e.role === "elasticsearch").map((e: any) => [e.name, e.agentImage]));
    expect(Object.values(agentImages).sort()).toEqual([ref(images!.agent), ref(images!.agent), next(ref(images!.agent))].sort());
    expect(agentImages[first.metadata!.name!]).toBe(next(ref(images!.agent)));
    await acceptedEverywhere(second!, "the certificates still accepted by every pod, the new agent's included");
  }, 600_000);

  test("disable → Disabled, with agents of both images", async () => {
    await switchTo(false);
    await settle("Disabled");
  }, 300_000);

  test("helm uninstall: the controller goes; the CRDs, the namespace and the cluster's ClientAuthentication stay (README, Install)", async () => {
    const r = helm(["uninstall", "es-mtls"]);
    expect(r.status).toBe(0);
    await eventually(async () => expect(await controllerPods()).toEqual([]), { timeoutMs: 90_000, what: "the controller pods gone" });
    const crds = (await cp.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata!.name);
    expect(crds).toContain("clientauthentications.mtls.es-mtls.io");
    expect((await core.readNamespace({ name: SYSTEM })).metadata!.deletionTimestamp).toBeUndefined();
    expect((await status())?.phase).toBe("Disabled");
  }, 120_000);
});
