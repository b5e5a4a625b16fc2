// The test node against the real control plane: kube-controller-manager's
// StatefulSet, ReplicaSet and Deployment controllers drive pods that the node
// schedules to itself and runs as local processes.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eventually } from "../support/eventually.ts";
import { get, httpContainer, isReady, readyOnHealthz, statusOf } from "./fixtures/pods.ts";
import { httpServerRunner } from "./fixtures/runners.ts";
import { TestNode } from "./node.ts";
import { killAllProcesses, livePids, pidAlive } from "./processes.ts";
import { commandRunner, failingRunner } from "./runners.ts";

const ns = "node";
let cp: ControlPlane;
let node: TestNode;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;

beforeAll(async () => {
  cp = await ControlPlane.start({ log: (l) => console.error(l) });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
  node = await TestNode.start({ kubeConfig: cp.kubeConfig(), runners: [httpServerRunner, commandRunner] });
  await core.createNamespace({ body: { metadata: { name: ns } } });
  // ServiceAccount admission needs the default SA; the token volume needs the root CA ConfigMap.
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await eventually(() => core.readNamespacedConfigMap({ name: "kube-root-ca.crt", namespace: ns }), { timeoutMs: 30_000, what: "kube-root-ca.crt" });
}, 120_000);

afterAll(async () => {
  try {
    await node?.stop();
  } finally {
    killAllProcesses();
    await cp?.stop();
  }
});

const pod = (name: string) => core.readNamespacedPod({ name, namespace: ns });
const pods = async (selector: string) => (await core.listNamespacedPod({ namespace: ns, labelSelector: selector })).items;
const readyPod = (name: string, timeoutMs = 20_000) =>
  eventually(async () => {
    const p = await pod(name);
    if (!isReady(p)) throw new Error(`${name} not Ready: ${JSON.stringify(p.status?.conditions)}`);
    return p;
  }, { timeoutMs, what: `${name} Ready` });

const webLabels = { app: "web" };

test("the node registers Ready with its capacity and address, and keeps a Lease", async () => {
  const n = await core.readNode({ name: node.name });
  expect(n.status?.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
  expect(n.status?.addresses).toContainEqual({ type: "InternalIP", address: "127.0.0.1" });
  expect(n.status?.capacity?.pods).toBe("110");
  const lease = await cp.kubeConfig().makeApiClient(k8s.CoordinationV1Api).readNamespacedLease({ name: node.name, namespace: "kube-node-lease" });
  expect(lease.spec?.holderIdentity).toBe(node.name);
});

test("a StatefulSet of 3 becomes Ready, pod by pod, each on its own address with container statuses", async () => {
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name: "web" },
      spec: {
        replicas: 3,
        serviceName: "web",
        selector: { matchLabels: webLabels },
        template: {
          metadata: { labels: webLabels },
          spec: {
            terminationGracePeriodSeconds: 5,
            initContainers: [{ name: "count-boots", image: "local/command", command: ["sh", "-c", "echo boot >> data/boots"], volumeMounts: [{ name: "data", mountPath: "/data" }] }],
            containers: [httpContainer("server", 8080, { readinessProbe: readyOnHealthz(), volumeMounts: [{ name: "data", mountPath: "/data" }] }, { TERM_DELAY_MS: "200" })],
          },
        },
        volumeClaimTemplates: [{ metadata: { name: "data" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
      },
    },
  });
  await eventually(async () => {
    const s = await apps.readNamespacedStatefulSet({ name: "web", namespace: ns });
    expect(s.status?.readyReplicas).toBe(3);
  }, { timeoutMs: 40_000, what: "3 ready replicas" });
  const all = await pods("app=web");
  expect(all.map((p) => p.metadata!.name).sort()).toEqual(["web-0", "web-1", "web-2"]);
  expect(new Set(all.map((p) => p.status!.podIP)).size).toBe(3);
  for (const p of all) {
    expect(p.spec!.nodeName).toBe(node.name);
    expect(p.status!.phase).toBe("Running");
    expect(p.status!.podIP).toMatch(/^127\./);
    expect(p.status!.hostIP).toBe("127.0.0.1");
    const s = statusOf(p, "server")!;
    expect(s).toMatchObject({ ready: true, started: true, restartCount: 0 });
    expect(s.state?.running?.startedAt).toBeDefined();
    for (const type of ["PodScheduled", "Initialized", "ContainersReady", "Ready"]) expect(p.status!.conditions!.find((c) => c.type === type)?.status).toBe("True");
    expect((await get(p, 8080, "/env/HOSTNAME")).text).toBe(p.metadata!.name!);
    expect(node.pod(ns, p.metadata!.name!)!.logs("server")).toContain(`listening on ${p.status!.podIP}:8080`);
  }
  // OrderedReady: each pod was started only after the previous one was Ready.
  const started = (name: string) => node.eventsOf(ns, name, "server").find((e) => e.event === "start")!.at;
  const ready = (name: string) => node.eventsOf(ns, name, "server").find((e) => e.event === "ready")!.at;
  expect(started("web-1")).toBeGreaterThanOrEqual(ready("web-0"));
  expect(started("web-2")).toBeGreaterThanOrEqual(ready("web-1"));
}, 60_000);

test("an evicted pod is stopped gracefully, re-created by the StatefulSet controller, and Ready again", async () => {
  const before = await pod("web-1");
  const oldPid = node.eventsOf(ns, "web-1", "server").filter((e) => e.event === "start" && e.uid === before.metadata!.uid).at(-1)!.pid!;
  await core.createNamespacedPodEviction({ name: "web-1", namespace: ns, body: { metadata: { name: "web-1", namespace: ns } } });
  const after = await eventually(async () => {
    const p = await pod("web-1");
    expect(p.metadata!.uid).not.toBe(before.metadata!.uid);
    if (!isReady(p)) throw new Error("not Ready yet");
    return p;
  }, { timeoutMs: 30_000, what: "web-1 re-created and Ready" });
  expect(pidAlive(oldPid)).toBe(false);
  const old = node.events.filter((e) => e.uid === before.metadata!.uid);
  expect(old.find((e) => e.event === "kill")?.detail).toContain("SIGTERM");
  expect(old.find((e) => e.event === "exit")?.detail).toBe("exit 0"); // it drained and exited by itself within the grace
  expect((await get(after, 8080, "/healthz")).status).toBe(200);
  // The claim's folder outlived the pod, as a persistent volume would.
  expect((await get(after, 8080, "/file?path=/data/boots")).text).toBe("boot\nboot\n");
}, 40_000);

test("an httpGet readiness probe that fails keeps the pod NotReady while it runs", async () => {
  await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "never-ready" }, spec: { containers: [httpContainer("server", 8080, { readinessProbe: { httpGet: { path: "/status/500", port: 8080 as never }, periodSeconds: 1, failureThreshold: 1 } })] } } });
  // Wait until the probe has really been answered several times, then look.
  const p = await eventually(async () => {
    const p = await pod("never-ready");
    expect(Number((await get(p, 8080, "/hits")).text)).toBeGreaterThanOrEqual(3);
    return p;
  }, { timeoutMs: 20_000, what: "3 probe requests" });
  const now = await pod("never-ready");
  expect(isReady(now)).toBe(false);
  expect(now.status!.phase).toBe("Running");
  expect(statusOf(now, "server")).toMatchObject({ started: true, ready: false });
  expect(now.status!.conditions!.find((c) => c.type === "ContainersReady")?.message).toContain("server");
  expect(p.status!.podIP).toBe(now.status!.podIP!);
}, 30_000);

test("exec probes run with the container's env; a container that exits is restarted per restartPolicy", async () => {
  const execPod = (name: string, mode: string): k8s.V1Pod => ({
    metadata: { name },
    spec: {
      containers: [{ name: "main", image: "local/command", command: ["sleep", "infinity"], env: [{ name: "MODE", value: mode }], readinessProbe: { exec: { command: ["sh", "-c", '[ "$MODE" = ready ]'] }, periodSeconds: 1, failureThreshold: 1 } }],
    },
  });
  await core.createNamespacedPod({ namespace: ns, body: execPod("exec-ready", "ready") });
  await core.createNamespacedPod({ namespace: ns, body: execPod("exec-unready", "other") });
  await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "crasher" }, spec: { restartPolicy: "OnFailure", containers: [{ name: "main", image: "local/command", command: ["sh", "-c", "exit 3"] }] } } });
  await readyPod("exec-ready");
  await eventually(() => expect(node.eventsOf(ns, "exec-unready", "main").some((e) => e.event === "start")).toBe(true), { what: "exec-unready started" });
  await eventually(async () => {
    const c = statusOf(await pod("crasher"), "main")!;
    expect(c.restartCount).toBeGreaterThanOrEqual(2);
    expect(c.lastState?.terminated?.exitCode).toBe(3);
  }, { timeoutMs: 20_000, what: "crasher restarted twice" });
  expect(isReady(await pod("exec-unready"))).toBe(false);
  expect(statusOf(await pod("exec-unready"), "main")).toMatchObject({ started: true, ready: false });
}, 30_000);

test("a failing liveness probe restarts the container; unknown images sleep, or fail with NoRunner where a test says so", async () => {
  node.runners.add({ ...failingRunner, name: "refuse-unknown", match: (c) => c.image === "nobody/refused" });
  const body = (name: string, image: string, extra: Partial<k8s.V1Container> = {}): k8s.V1Pod => ({ metadata: { name }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: "main", image, ...extra }] } });
  await core.createNamespacedPod({ namespace: ns, body: body("unlively", "local/command", { command: ["sleep", "infinity"], livenessProbe: { exec: { command: ["false"] }, periodSeconds: 1, failureThreshold: 2 } }) });
  await core.createNamespacedPod({ namespace: ns, body: body("mystery", "nobody/knows") });
  await core.createNamespacedPod({ namespace: ns, body: body("refused", "nobody/refused") });
  await eventually(async () => expect(statusOf(await pod("unlively"), "main")?.restartCount).toBeGreaterThanOrEqual(1), { timeoutMs: 20_000, what: "liveness restart" });
  expect(node.eventsOf(ns, "unlively", "main").find((e) => e.event === "probe-failed")?.detail).toContain("liveness");
  await readyPod("mystery");
  await eventually(async () => expect(statusOf(await pod("refused"), "main")?.state?.waiting?.reason).toBe("NoRunner"), { what: "NoRunner" });
  expect(statusOf(await pod("refused"), "main")?.state?.waiting?.message).toContain("nobody/refused");
  node.runners.remove("refuse-unknown");
}, 30_000);

test("a pod whose main container completes ends Succeeded, and its sidecar is stopped", async () => {
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: "job" },
      spec: {
        restartPolicy: "Never",
        initContainers: [{ name: "helper", image: "local/command", command: ["sleep", "infinity"], restartPolicy: "Always" }],
        containers: [{ name: "main", image: "local/command", command: ["sh", "-c", "exit 0"] }],
      },
    },
  });
  const done = await eventually(async () => {
    const p = await pod("job");
    expect(p.status?.phase).toBe("Succeeded");
    return p;
  }, { timeoutMs: 15_000, what: "job Succeeded" });
  expect(statusOf(done, "main")?.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
  const helper = node.eventsOf(ns, "job", "helper");
  expect(helper.map((e) => e.event)).toContain("exit");
  expect(pidAlive(helper.find((e) => e.event === "start")!.pid!)).toBe(false);
}, 20_000);

test("init containers run to completion first, a native sidecar starts before the main container once its startupProbe passes", async () => {
  await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "greeting" }, stringData: { word: "hello" } } });
  await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: "ordered", annotations: { team: "search" } },
      spec: {
        volumes: [
          { name: "shared", emptyDir: {} },
          { name: "greeting", secret: { secretName: "greeting" } },
          { name: "info", downwardAPI: { items: [{ path: "team", fieldRef: { fieldPath: "metadata.annotations['team']" } }] } },
        ],
        initContainers: [
          { name: "setup", image: "local/command", command: ["sh", "-c", "echo prepared > data/marker"], volumeMounts: [{ name: "shared", mountPath: "/data" }] },
          { ...httpContainer("sidecar", 8081, {}, { LISTEN_DELAY_MS: "1500" }), restartPolicy: "Always", startupProbe: { httpGet: { path: "/healthz", port: 8081 as never }, periodSeconds: 1, failureThreshold: 30 } },
        ],
        containers: [
          httpContainer("main", 8080, {
            readinessProbe: readyOnHealthz(8080),
            volumeMounts: [{ name: "shared", mountPath: "/srv/data" }, { name: "greeting", mountPath: "/etc/greeting", readOnly: true }, { name: "info", mountPath: "/etc/info" }],
          }),
        ],
      },
    },
  });
  const p = await readyPod("ordered", 30_000);
  const ev = (c: string, e: string) => node.eventsOf(ns, "ordered", c).find((x) => x.event === e)!.at;
  expect(ev("setup", "exit")).toBeLessThanOrEqual(ev("sidecar", "start"));
  expect(ev("sidecar", "start") + 1000).toBeLessThanOrEqual(ev("sidecar", "started")); // the startup probe held it for LISTEN_DELAY_MS
  expect(ev("sidecar", "started")).toBeLessThanOrEqual(ev("main", "start"));
  expect(statusOf(p, "setup")!.state?.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
  expect(statusOf(p, "sidecar")).toMatchObject({ started: true, ready: true });
  // Volumes: the emptyDir is shared, the Secret and downward API are projected, and a Secret change is re-synced.
  expect((await get(p, 8080, "/file?path=/srv/data/marker")).text).toBe("prepared\n");
  expect((await get(p, 8080, "/file?path=/etc/greeting/word")).text).toBe("hello");
  expect((await get(p, 8080, "/file?path=/etc/info/team")).text).toBe("search");
  const token = (await get(p, 8080, "/file?path=/var/run/secrets/kubernetes.io/serviceaccount/token")).text;
  const claims = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString());
  expect(claims["kubernetes.io"].pod).toEqual({ name: "ordered", uid: p.metadata!.uid });
  await core.replaceNamespacedSecret({ name: "greeting", namespace: ns, body: { metadata: { name: "greeting" }, stringData: { word: "bonjour" } } });
  await eventually(async () => expect((await get(p, 8080, "/file?path=/etc/greeting/word")).text).toBe("bonjour"), { what: "secret re-synced" });
  await core.patchNamespacedPod({ name: "ordered", namespace: ns, body: { metadata: { annotations: { team: "ingest" } } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  await eventually(async () => expect((await get(p, 8080, "/file?path=/etc/info/team")).text).toBe("ingest"), { what: "downward API re-synced" });
}, 40_000);

test("a Deployment of 1 replica becomes available", async () => {
  const labels = { app: "api" };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: { metadata: { name: "api" }, spec: { replicas: 1, selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [httpContainer("server", 9000, { readinessProbe: readyOnHealthz() })] } } } },
  });
  await eventually(async () => expect((await apps.readNamespacedDeployment({ name: "api", namespace: ns })).status?.availableReplicas).toBe(1), { timeoutMs: 30_000, what: "deployment available" });
  const [p] = await pods("app=api");
  expect((await get(p!, 9000, "/healthz")).status).toBe(200);
}, 40_000);

test("a process that ignores SIGTERM is killed after terminationGracePeriodSeconds", async () => {
  await core.createNamespacedPod({ namespace: ns, body: { metadata: { name: "stubborn" }, spec: { terminationGracePeriodSeconds: 1, containers: [httpContainer("server", 8080, {}, { TERM_DELAY_MS: "60000" })] } } });
  await eventually(() => expect(node.eventsOf(ns, "stubborn", "server").some((e) => e.event === "start")).toBe(true), { what: "started" });
  const began = Date.now();
  await core.deleteNamespacedPod({ name: "stubborn", namespace: ns });
  await eventually(async () => expect((await core.listNamespacedPod({ namespace: ns, fieldSelector: "metadata.name=stubborn" })).items).toHaveLength(0), { timeoutMs: 10_000, what: "stubborn gone" });
  expect(Date.now() - began).toBeGreaterThanOrEqual(900);
  expect(node.eventsOf(ns, "stubborn", "server").find((e) => e.event === "exit")?.detail).toBe("exit 137");
}, 20_000);

test("deleting the StatefulSet stops all of its processes", async () => {
  await apps.deleteNamespacedStatefulSet({ name: "web", namespace: ns, propagationPolicy: "Foreground" });
  await eventually(async () => expect(await pods("app=web")).toHaveLength(0), { timeoutMs: 30_000, what: "web pods gone" });
  const webPids = node.events.filter((e) => e.pod.startsWith("web-") && e.event === "start").map((e) => e.pid!);
  expect(webPids.length).toBeGreaterThanOrEqual(4); // 3 + the evicted one's successor
  await eventually(() => expect(webPids.filter(pidAlive)).toEqual([]), { what: "no web process left" });
  // And after the node stops, nothing it started is left at all.
  await node.stop();
  expect(livePids()).toEqual([]);
  expect(node.startedPids().filter(pidAlive)).toEqual([]);
}, 40_000);
