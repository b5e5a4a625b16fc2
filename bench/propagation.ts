// Propagation: a labelled client-certificate Secret created → the new trust bundle on disk in
// every agent, on the real control plane with the real controller (webhooks + intent API):
// --agents real agent processes (the compiled Bun binary, run by the test kubelet from their
// injected pods) plus --streams protocol-level intent streams (plain HTTPS NDJSON clients, each
// with its own pod's projected token; bench/support/stream-clients.ts), all pods of one cluster.
// Baseline in the same run: the same change with one agent connected and nothing else.
// Agents: time = the agent's own "material written" log line for the new bundle (its clock is
// this machine's); streams: time the line carrying the new bundle was read.
// Run: npx bun bench/propagation.ts [--agents=100] [--streams=1000] [--rounds=3] [--profile-dir=DIR] [--disk-volumes]
// (--profile-dir: the controller writes a CPU profile there on exit; summarise it with
//  npx bun bench/support/cpuprofile-summary.ts DIR/*.cpuprofile)
// Exits 1 only when a result is invalid: some agent or stream never got the new bundle.
import { spawn } from "bun";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../test/controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../test/controlplane/crds.ts";
import { TestCA } from "../test/controlplane/certs.ts";
import { CLIENT_AUTHENTICATION as CA, ELASTICSEARCH as ES, KIBANA as KB } from "../controller/resources.ts";
import { desiredMutatingWebhookConfiguration } from "../controller/admission/configurations.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE } from "../controller/names.ts";
import { INTENT_API_AUDIENCE } from "../protocol/intent.ts";
import { sha256Hex } from "../common/digest.ts";
import { ControllerProcess } from "../test/support/controller-process.ts";
import { prepareCluster } from "../test/support/cluster-setup.ts";
import { eventually } from "../test/support/eventually.ts";
import { podToken, servingCa } from "../test/support/intent-client.ts";
import { runAgentOf } from "../test/support/test-kubelet.ts";
import { createClientCertSecret } from "../test/support/client-cert-secret.ts";
import { buildBinary, killAll, tmpDir, type AgentProcess } from "../test/support/agent-harness.ts";
import { freePort } from "../test/support/ports.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const AGENTS = arg("agents", 100);
const STREAMS = arg("streams", 1000);
const ROUNDS = arg("rounds", 3);
const ROUND_TIMEOUT_MS = 60_000;
const DISK_VOLUMES = process.argv.includes("--disk-volumes");
const PROFILE_DIR = process.argv.find((a) => a.startsWith("--profile-dir="))?.split("=")[1];
const ns = "bench";
const started = Date.now();
const phaseTimes: Record<string, number> = {};
const mark = (what: string) => (phaseTimes[what] = Math.round((Date.now() - started) / 100) / 10);

const pct = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
};
const stats = (xs: number[]) => ({ n: xs.length, p50: pct(xs, 50), p99: pct(xs, 99), max: xs.length ? Math.max(...xs) : NaN });
const rssMiB = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024);

// The controller's reconciles between two scrapes of its /metrics: how many, and their mean queue wait and run (ms).
type Scrape = Map<string, number>;
const scrape = async (port: number): Promise<Scrape> => {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const out: Scrape = new Map();
  for (const m of text.matchAll(/^es_mtls_controller_reconcile_(queue_wait|duration)_seconds_(sum|count)\{lane="(\w+)"\} (\S+)$/gm)) out.set(`${m[1]}_${m[2]}_${m[3]}`, Number(m[4]));
  return out;
};
const reconcilesBetween = (a: Scrape, b: Scrape) => {
  const d = (k: string) => (b.get(k) ?? 0) - (a.get(k) ?? 0);
  const mean = (what: string, lane: string) => (d(`${what}_count_${lane}`) ? Math.round((d(`${what}_sum_${lane}`) / d(`${what}_count_${lane}`)) * 1000) : null);
  return Object.fromEntries(["change", "resync"].map((lane) => [lane, { reconciles: d(`duration_count_${lane}`), meanWaitMs: mean("queue_wait", lane), meanRunMs: mean("duration", lane) }]));
};

let cp: ControlPlane | undefined;
let controller: ControllerProcess | undefined;
let streamChild: ReturnType<typeof spawn> | undefined;
const invalid: string[] = [];

try {
  const binary = buildBinary();
  cp = await ControlPlane.start({ crds: PROJECT_CRDS });
  const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [ns]);
  const kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  if (PROFILE_DIR) process.env.BUN_OPTIONS = `--cpu-prof --cpu-prof-dir=${PROFILE_DIR}`;
  controller = await ControllerProcess.start({ kubeconfig, name: "controller-a", namespace: "es-mtls-system", extraArgs: ["--resync=10m", "--agent-image=es-mtls-agent:bench"] });
  delete process.env.BUN_OPTIONS;
  await controller.waitReady();
  const mwc = desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${controller.webhookPort}` }, caPem: await servingCa(core, "es-mtls-system") });
  await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: mwc });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "search" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 1 }] } },
  });
  const kb = (await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "search" } } } })) as { metadata: { uid: string } };
  await eventually(() => core.readNamespacedSecret({ name: "search-es-client-trust-bundle", namespace: ns }), { timeoutMs: 30_000, what: "trust bundle Secret" });
  // The bundle Secret is written before the status; the webhook injects only once the persisted phase is active.
  await eventually(async () => {
    const ca = (await custom.getNamespacedCustomObject({ ...CA, namespace: ns, name: "search" })) as { status?: { phase?: string } };
    if (ca.status?.phase !== "Enabled") throw new Error(`phase ${ca.status?.phase}`);
  }, { timeoutMs: 30_000, what: "cluster Enabled" });
  const controllerCa = await servingCa(core, "es-mtls-system");
  await binary;
  mark("controlPlaneAndControllerReadyS");

  const createPod = (i: number) =>
    core.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: `search-es-default-${i}`, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "search", "elasticsearch.k8s.elastic.co/statefulset-name": "search-es-default" } },
        spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
      },
    });
  async function inBatches<T>(n: number, size: number, f: (i: number) => Promise<T>): Promise<T[]> {
    const out: T[] = [];
    for (let i = 0; i < n; i += size) out.push(...(await Promise.all(Array.from({ length: Math.min(size, n - i) }, (_, k) => f(i + k)))));
    return out;
  }

  const agents: Array<{ agent: AgentProcess; bundlePath: string }> = [];
  const startAgent = async (pod: k8s.V1Pod) => {
    // The pod's volumes on tmpfs, as the kubelet mounts the injected emptyDirs (medium: Memory) and
    // projected volumes; on /tmp, 100 agents' fsyncs queued on the disk's journal (--disk-volumes).
    const root = tmpDir("bench-pod", { memory: !DISK_VOLUMES });
    // No workload behind the agent: its proofs fail (connection refused, cheap) and retry.
    const agent = await runAgentOf({ core, pod, runtime: "bun-binary", root, controllerUrl: controller!.url, probeUrl: `https://127.0.0.1:${freePort()}` });
    agents.push({ agent, bundlePath: join(root, ES_BUNDLE_DIR, ES_BUNDLE_FILE) });
    await agent.waitLog((l) => l.msg === "material written", 60_000);
  };

  // One labelled Secret → wait until every receiver has the bundle that contains it.
  let secretSeq = 0;
  const bundleEvents: Array<{ i: number; sha: string; t: number }> = [];
  async function round(receivers: { agents: number; streams: number }) {
    const client = await (await TestCA.create(`client-${secretSeq}`)).issue({ subject: `CN=bench-client-${secretSeq}`, client: true });
    const line = client.cert.split("\n")[1]!;
    const logFrom = agents.map((a) => a.agent.logs.length);
    const t0 = Date.now();
    await createClientCertSecret(core, { namespace: ns, name: `client-${secretSeq++}`, es: "search", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: client.cert });
    const pem = await eventually(async () => {
      const s = await core.readNamespacedSecret({ name: "search-es-client-trust-bundle", namespace: ns });
      const text = atob(s.data!["client-trust-bundle.crt"]!);
      if (!text.includes(line)) throw new Error("not yet");
      return text;
    }, { timeoutMs: ROUND_TIMEOUT_MS, intervalMs: 10, what: "bundle Secret with the new certificate" });
    const bundleSecretMs = Date.now() - t0;
    const sha = sha256Hex(pem);
    const deadline = t0 + ROUND_TIMEOUT_MS;
    const agentMs: number[] = [];
    for (const [k, a] of agents.slice(0, receivers.agents).entries()) {
      try {
        const l = await a.agent.waitLog((x) => x.msg === "material written" && x.bundleSha256 === sha, Math.max(1, deadline - Date.now()), logFrom[k]);
        agentMs.push(Date.parse(l.ts) - t0);
        if (!readFileSync(a.bundlePath, "utf8").includes(line)) invalid.push(`agent ${k}: logged the bundle but the file lacks the new certificate`);
      } catch {
        invalid.push(`agent ${k} never wrote bundle ${sha.slice(0, 12)} (round ${secretSeq})`);
      }
    }
    let streamMs: number[] = [];
    if (receivers.streams > 0) {
      await eventually(() => {
        const got = new Set(bundleEvents.filter((e) => e.sha === sha).map((e) => e.i));
        if (got.size < receivers.streams) throw new Error(`${got.size}/${receivers.streams} streams`);
      }, { timeoutMs: Math.max(1, deadline - Date.now()), intervalMs: 20, what: "every stream got the new bundle" }).catch((e) => invalid.push(`streams: ${(e as Error).message}`));
      const first = new Map<number, number>();
      for (const e of bundleEvents) if (e.sha === sha && !first.has(e.i)) first.set(e.i, e.t - t0);
      streamMs = [...first.values()];
    }
    return { bundleSecretMs, agentMs, streamMs };
  }

  // Baseline: one agent, nothing else connected.
  const pods = await inBatches(AGENTS + STREAMS, 25, createPod);
  mark("podsCreatedS");
  await startAgent(pods[0]!);
  const baselineRounds: Awaited<ReturnType<typeof round>>[] = [];
  const beforeBaseline = await scrape(controller.healthPort);
  for (let r = 0; r < ROUNDS; r++) baselineRounds.push(await round({ agents: 1, streams: 0 }));
  const baselineReconciles = reconcilesBetween(beforeBaseline, await scrape(controller.healthPort));
  mark("baselineDoneS");

  // The fleet: the other agents, then the streams.
  await inBatches(AGENTS - 1, 10, (i) => startAgent(pods[i + 1]!));
  mark("agentsStartedS");
  const tokens = await inBatches(STREAMS, 25, (i) => podToken(core, pods[AGENTS + i]!, INTENT_API_AUDIENCE, 3600));
  const configFile = join(tmpDir("bench-streams"), "config.json");
  writeFileSync(configFile, JSON.stringify({ url: controller.url, ca: controllerCa, tokens }));
  let opened = 0;
  let streamErrors = 0;
  streamChild = spawn([process.execPath, join(import.meta.dir, "support", "stream-clients.ts"), configFile], { stdout: "pipe", stderr: "inherit", env: { ...process.env, BUN_CONFIG_MAX_HTTP_REQUESTS: "4096" } });
  void (async () => {
    let buf = "";
    for await (const chunk of streamChild!.stdout as ReadableStream<Uint8Array>) {
      buf += new TextDecoder().decode(chunk);
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const ev = JSON.parse(buf.slice(0, nl));
        buf = buf.slice(nl + 1);
        if (ev.ev === "open") opened++;
        else if (ev.ev === "bundle") bundleEvents.push(ev);
        else if (ev.ev === "error") streamErrors++;
      }
    }
  })();
  await eventually(() => {
    if (opened < STREAMS) throw new Error(`${opened}/${STREAMS} streams open`);
  }, { timeoutMs: 180_000, intervalMs: 200, what: "every stream open" });
  await Bun.sleep(3000); // let start-up reports and proofs settle
  mark("streamsOpenS");
  const fleetRounds: Awaited<ReturnType<typeof round>>[] = [];
  const beforeFleet = await scrape(controller.healthPort);
  for (let r = 0; r < ROUNDS; r++) fleetRounds.push(await round({ agents: AGENTS, streams: STREAMS }));
  const fleetReconciles = reconcilesBetween(beforeFleet, await scrape(controller.healthPort));
  mark("fleetDoneS");

  const flat = (rs: Awaited<ReturnType<typeof round>>[], k: "agentMs" | "streamMs") => rs.flatMap((r) => r[k]);
  const fleetAll = [...flat(fleetRounds, "agentMs"), ...flat(fleetRounds, "streamMs")];
  const baseline = stats(flat(baselineRounds, "agentMs"));
  const result = {
    bench: "propagation",
    date: new Date().toISOString(),
    machine: "2 cores, 24 GiB (shared)",
    agents: AGENTS,
    streams: STREAMS,
    rounds: ROUNDS,
    baselineOneAgentMs: baseline,
    fleet: {
      agentsMs: stats(flat(fleetRounds, "agentMs")),
      streamsMs: stats(flat(fleetRounds, "streamMs")),
      allMs: stats(fleetAll),
      secretToBundleSecretMs: fleetRounds.map((r) => r.bundleSecretMs),
      perRound: fleetRounds.map((r) => ({ agents: stats(r.agentMs), streams: stats(r.streamMs) })),
    },
    fleetP99VsBaselineP99: Math.round((pct(fleetAll, 99) / baseline.p99) * 10) / 10,
    target: "p99 < 1000 ms",
    met: pct(fleetAll, 99) < 1000,
    controllerRssMiB: rssMiB(controller.child.pid!),
    // The cluster's reconciles during the rounds, by queue lane (each reconcile reads all its pods).
    controllerReconciles: { baselineRounds: baselineReconciles, fleetRounds: fleetReconciles },
    streamErrors,
    kubeletSecretVolumeBound: "ECK relies on the kubelet's Secret-volume refresh: up to syncFrequency (default 1 min) + the Secret cache TTL/watch delay, i.e. ~1–2 min",
    phaseTimesS: phaseTimes,
    invalid,
  };
  console.log(JSON.stringify(result, null, 2));
  console.log(
    `Secret → bundle on disk, ${AGENTS} agents + ${STREAMS} streams: p50 ${result.fleet.allMs.p50} ms, p99 ${result.fleet.allMs.p99} ms, max ${result.fleet.allMs.max} ms ` +
      `(one agent alone: p99 ${baseline.p99} ms; kubelet Secret volume: ~60–120 s); target p99 < 1 s ${result.met ? "met" : "missed"}` +
      (invalid.length ? ` — INVALID: ${invalid.slice(0, 3).join("; ")}${invalid.length > 3 ? ` (+${invalid.length - 3})` : ""}` : ""),
  );
} catch (error) {
  invalid.push(`bench failed: ${(error as Error).stack ?? error}`);
  console.error(invalid.at(-1));
} finally {
  streamChild?.kill(9);
  killAll();
  await controller?.stop();
  await cp?.stop();
}
process.exit(invalid.length ? 1 : 0);
