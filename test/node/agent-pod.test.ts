// The injected agent as the test node runs it: a pod spec patched by the real
// injection code runs the shipped agent binary as a native sidecar with its
// projected token (TokenRequest, intent-API audience) and controller CA (downward
// API), writes into the emptyDir the Elasticsearch container mounts, and the
// workload starts only after the agent's startupProbe passed. The intent API is
// the fixture server (no controller here).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eventually } from "../support/eventually.ts";
import { applyPatch } from "../support/json-patch.ts";
import { IntentServer } from "../fixtures/intent-server.ts";
import { injectPod } from "../../controller/admission/injection.ts";
import { injectionConfig } from "../support/eck-pods.ts";
import { AGENT_CONTAINER, ECK_TYPE_LABEL, ES_BUNDLE_DIR, ES_CLUSTER_LABEL } from "../../controller/names.ts";
import { DEFAULT_AGENT_TOKEN_FILE } from "../../protocol/agent-env.ts";
import { INTENT_API_AUDIENCE } from "../../protocol/intent.ts";
import { agentRunner } from "./fixtures/agent-runner.ts";
import { get, httpContainer, readyOnHealthz, statusOf } from "./fixtures/pods.ts";
import { httpServerRunner } from "./fixtures/runners.ts";
import { TestNode } from "./node.ts";
import { killAllProcesses, pidAlive } from "./processes.ts";

const ns = "agents";
let cp: ControlPlane;
let node: TestNode;
let core: k8s.CoreV1Api;
let intents: IntentServer;

beforeAll(async () => {
  cp = await ControlPlane.start({ log: (l) => console.error(l) });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  // The fixture accepts exactly the token the pod's agent holds right now.
  intents = await new IntentServer({ token: () => agentToken() }).start();
  node = await TestNode.start({ kubeConfig: cp.kubeConfig(), tokenRenewAfterMs: 2000, runners: [agentRunner({ runtime: "bun-binary", controllerUrl: intents.url }), httpServerRunner] });
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await eventually(() => core.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace: ns }), { timeoutMs: 30_000, what: "kube-root-ca.crt" });
}, 120_000);

afterAll(async () => {
  try {
    await intents?.stop();
    await node?.stop();
  } finally {
    killAllProcesses();
    await cp?.stop();
  }
});

function agentToken(): string {
  const w = node?.pod(ns, "es-0");
  try {
    return w ? readFileSync(w.hostPath(AGENT_CONTAINER, DEFAULT_AGENT_TOKEN_FILE), "utf8") : "";
  } catch {
    return "";
  }
}

test("an injected Elasticsearch pod: agent first, token and CA projected, material shared with the workload", async () => {
  const plain: k8s.V1Pod = {
    metadata: { name: "es-0", namespace: ns, labels: { [ECK_TYPE_LABEL]: "elasticsearch", [ES_CLUSTER_LABEL]: "quickstart" } },
    // Ready only once it serves: "running" is the process started, not yet listening.
    spec: { containers: [httpContainer("elasticsearch", 9200, { readinessProbe: readyOnHealthz(9200) })] },
  };
  const injected = injectPod(
    plain,
    { cluster: { namespace: ns, name: "quickstart" }, role: "elasticsearch", phase: "Enabled", enforcement: "required" },
    injectionConfig({ agentImage: "es-mtls-agent:test", controllerCaPem: intents.servingCa.pem }),
  );
  expect(injected.skipped).toBeUndefined();
  const created = await core.createNamespacedPod({ namespace: ns, body: applyPatch(plain, injected.patch) });
  const bundle = intents.clientCa.pem;
  intents.publish({
    pod: { namespace: ns, name: "es-0", uid: created.metadata!.uid! },
    role: "elasticsearch",
    cluster: { namespace: ns, name: "quickstart" },
    phase: "Enabled",
    enforcement: "required",
    trustBundle: { pem: bundle, sha256: createHash("sha256").update(bundle).digest("hex") },
    files: { dir: ES_BUNDLE_DIR, bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: process.getuid!(), gid: process.getgid!() },
  });

  const pod = await eventually(async () => {
    const p = await core.readNamespacedPod({ name: "es-0", namespace: ns });
    expect(statusOf(p, "elasticsearch")?.state?.running).toBeDefined();
    expect(statusOf(p, "elasticsearch")?.ready).toBe(true);
    return p;
  }, { timeoutMs: 60_000, what: "the workload running and serving" });
  const at = (c: string, e: string) => node.eventsOf(ns, "es-0", c).find((x) => x.event === e)!.at;
  expect(at(AGENT_CONTAINER, "started")).toBeLessThanOrEqual(at("elasticsearch", "start"));
  expect(statusOf(pod, AGENT_CONTAINER)).toMatchObject({ started: true });

  // What the agent wrote (under its --root) is what the workload reads through its own mount.
  expect((await get(pod, 9200, `/file?path=${ES_BUNDLE_DIR}/client-trust-bundle.crt`)).text).toBe(bundle);
  const claims = JSON.parse(Buffer.from(agentToken().split(".")[1]!, "base64url").toString());
  expect(claims.aud).toContain(INTENT_API_AUDIENCE);
  expect(claims["kubernetes.io"].pod.uid).toBe(pod.metadata!.uid);
  // The agent answers its health port on the pod's address, where the kubelet probes it.
  expect((await fetch(`http://${pod.status!.podIP}:8099/startupz`)).status).toBe(200);
  // The projected token is renewed in place (a new token for the same pod), and the agent keeps streaming with it.
  const first = agentToken();
  const streams = intents.streamRequests.length;
  await eventually(() => expect(agentToken()).not.toBe(first), { what: "token renewed" });
  expect(JSON.parse(Buffer.from(agentToken().split(".")[1]!, "base64url").toString())["kubernetes.io"].pod.uid).toBe(pod.metadata!.uid);
  await intents.stop(); // drop the stream: the agent reconnects with the token now on disk
  await intents.start();
  await eventually(() => expect(intents.streamRequests.length).toBeGreaterThan(streams), { timeoutMs: 20_000, what: "agent reconnected with the renewed token" });

  await core.deleteNamespacedPod({ name: "es-0", namespace: ns });
  await eventually(async () => expect((await core.listNamespacedPod({ namespace: ns })).items).toHaveLength(0), { timeoutMs: 30_000, what: "es-0 gone" });
  expect(node.startedPids().filter(pidAlive)).toEqual([]);
}, 90_000);
