// The controller's memory on the real control plane (issue 21), two modes:
//   --mode=burst (default): one Elasticsearch with client authentication, enabled (its bundle holds
//     the CA alone): the baseline RSS. Then --secrets (5,000) labelled client-certificate Secrets
//     (distinct certificates, owned by the cluster) are created, read into its bundle (as many as
//     fit), and deleted in one deletecollection; the bundle goes back to the CA alone. Printed: the
//     peak RSS (VmHWM, reset before the burst), the RSS every 30 s for --after-s (120) seconds after
//     the bundle is back, and its ratio to the baseline (goal: peak < 256 MiB, ≤ 1.5× baseline).
//   --mode=scale: --clusters (1,000) clusters × 10 labelled Secrets × 3 pods in 10 namespaces (the
//     shape of bench/controller-scale.ts), all created before the controller starts; its RSS after
//     the initial sync and its peak, and the LIST requests it made (audit log: how many were paged
//     with `limit=`). The baseline is the same controller with no cluster at all, same run.
// In both, bench/support/memory-probe.ts is preloaded into the controller: on SIGUSR2 it collects
// garbage and reports the JS heap (live objects, top types) next to the RSS after the collection,
// so what is live is told apart from what the allocator keeps.
// Run: npx bun bench/controller-memory.ts [--mode=burst|scale] [--secrets=5000] [--after-s=120] [--clusters=1000] [--sync-timeout-s=600]
//   [--sample-ms=N] (RSS, JS heap and native commit every N ms; the sample at the highest RSS is printed)
//   [--controller-bun-options="--smol"] (extra Bun flags for the controller)
//   [--heap-env=chart|none] (the controller's BUN_JSC_* heap options: the chart's, as shipped, or JSC's defaults)
// Prints one JSON object; exits 1 only when a result is invalid (the bundle never filled or emptied,
// a cluster never synced).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { x509 } from "../common/x509.ts";
import { ControlPlane, type AuditEvent } from "../test/controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../test/controlplane/crds.ts";
import { ELASTICSEARCH as ES } from "../controller/resources.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "../controller/pki/keys.ts";
import { ControllerProcess } from "../test/support/controller-process.ts";
import { prepareCluster } from "../test/support/cluster-setup.ts";
import { clientCertLabels } from "../test/support/client-cert-secret.ts";
import { eventually } from "../test/support/eventually.ts";
import { heapEnvFlag } from "./support/chart-heap-env.ts";

const argOf = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const MODE = argOf("mode") ?? "burst";
const SECRETS = Number(argOf("secrets") ?? 5000);
const AFTER_S = Number(argOf("after-s") ?? 120);
const CLUSTERS = Number(argOf("clusters") ?? 1000);
/** Samples of RSS, JS heap and native commit every this many ms (0: none); the peak sample is printed. */
const SAMPLE_MS = Number(argOf("sample-ms") ?? 0);
const CONTROLLER_BUN_OPTIONS = process.argv.find((a) => a.startsWith("--controller-bun-options="))?.slice("--controller-bun-options=".length) ?? "";
const HEAP_ENV = heapEnvFlag(argOf("heap-env"));
const CONTROLLER_USER = "es-mtls-controller";
const invalid: string[] = [];
// The test harness's 6 s lease is too short for a burst on a loaded 2-core machine (the process
// exited on a missed renewal); 120 s keeps the one process measured from start to end.
const CONTROLLER_ARGS = ["--resync=5m", "--lease-duration=120s", "--lease-retry=2s"];
/** How long the scale mode waits for every cluster; past it the figures are of the clusters synced by then. */
const SYNC_TIMEOUT_S = Number(argOf("sync-timeout-s") ?? 600);

const procStatus = (pid: number, field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024);
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;
};
/** Resets VmHWM to the current RSS (clear_refs 5), so a peak is the peak of what follows. */
const resetPeak = (pid: number) => writeFileSync(`/proc/${pid}/clear_refs`, "5");
const load = () => loadavg().map((l) => Math.round(l * 10) / 10);

const keys = await generateP256KeyPair();
async function certPem(cn: string): Promise<string> {
  const c = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=${cn}`, keys, signingAlgorithm: ECDSA_SHA256, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 30 * 86400_000) });
  return c.toString("pem") + "\n";
}

async function pool<T>(items: T[], width: number, f: (item: T) => Promise<unknown>) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < items.length) await f(items[next++]!);
  }));
}

/** The controller with the memory probe preloaded; `probe()` collects garbage in it and returns the figures. */
async function startController(kubeconfig: string, extraArgs: string[]) {
  const out = join(process.env.TMPDIR ?? "/tmp", `es-mtls-memory-probe-${process.pid}-${Date.now()}.ndjson`);
  process.env.BUN_OPTIONS = [`--preload=${join(import.meta.dir, "support", "memory-probe.ts")}`, CONTROLLER_BUN_OPTIONS].filter(Boolean).join(" ");
  process.env.ES_MTLS_MEMORY_PROBE_OUT = out;
  if (SAMPLE_MS) process.env.ES_MTLS_MEMORY_PROBE_SAMPLE_MS = String(SAMPLE_MS);
  const controller = await ControllerProcess.start({ kubeconfig, name: "controller", namespace: "es-mtls-system", extraArgs, env: HEAP_ENV });
  delete process.env.BUN_OPTIONS;
  delete process.env.ES_MTLS_MEMORY_PROBE_OUT;
  delete process.env.ES_MTLS_MEMORY_PROBE_SAMPLE_MS;
  const all = () => (existsSync(out) ? readFileSync(out, "utf8").trim().split("\n").filter(Boolean) : []);
  const lines = () => all().filter((l) => !l.startsWith('{"sample"'));
  /** The sample with the highest RSS (and the JS heap and native commit then). */
  const peakSample = () => all().filter((l) => l.startsWith('{"sample"')).map((l) => JSON.parse(l)).reduce((a, b) => (!a || b.rssMiB > a.rssMiB ? b : a), undefined);
  const probe = async () => {
    const before = lines().length;
    controller.child.kill("SIGUSR2");
    await eventually(async () => {
      if (lines().length <= before) throw new Error("no probe line yet");
    }, { timeoutMs: 30_000, intervalMs: 100, what: "memory probe" });
    return JSON.parse(lines().at(-1)!);
  };
  return { controller, pid: controller.child.pid!, probe, peakSample };
}

/** Waits until the controller's CPU time grows by less than 0.05 s in 3 s: its work is done. */
async function quiet(pid: number) {
  let last = cpuSeconds(pid);
  for (let i = 0; i < 100; i++) {
    await Bun.sleep(3000);
    const now = cpuSeconds(pid);
    if (now - last < 0.05) return;
    last = now;
  }
}

async function burst() {
  const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
  let controller: ControllerProcess | undefined;
  try {
    const NS = "burst";
    const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
    await prepareCluster(core, [NS]);
    const es = (await custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: { apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", metadata: { name: "es" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } } } } })) as { metadata: { uid: string } };
    const pems: string[] = [];
    for (let i = 0; i < SECRETS; i++) pems.push(await certPem(`burst-${i}`));
    const kubeconfig = await cp.kubeconfigFor(CONTROLLER_USER, ["system:masters"]);
    const started = await startController(kubeconfig, CONTROLLER_ARGS);
    controller = started.controller;
    const { pid, probe, peakSample } = started;
    const bundleCerts = async () => {
      const s = await core.readNamespacedSecret({ namespace: NS, name: "es-es-client-trust-bundle" });
      return atob(s.data!["client-trust-bundle.crt"]!).split("BEGIN CERTIFICATE").length - 1;
    };
    await eventually(async () => {
      if ((await bundleCerts()) !== 1) throw new Error("no bundle with the CA alone yet");
    }, { timeoutMs: 120_000, intervalMs: 250, what: "cluster enabled" });
    await quiet(pid);
    const baseline = { rssMiB: procStatus(pid, "VmRSS"), peakMiB: procStatus(pid, "VmHWM"), load: load() };
    resetPeak(pid);

    const t0 = Date.now();
    await pool(pems.map((pem, i) => ({ pem, i })), 16, ({ pem, i }) =>
      core.createNamespacedSecret({
        namespace: NS,
        body: {
          metadata: { name: `burst-${String(i).padStart(5, "0")}`, labels: clientCertLabels("es", NS), ownerReferences: [{ apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", name: "es", uid: es.metadata.uid }] },
          stringData: { "tls.crt": pem },
        },
      }),
    );
    const createdS = (Date.now() - t0) / 1000;
    let full = 0;
    await eventually(async () => {
      full = await bundleCerts();
      if (full < 2) throw new Error("bundle not grown yet");
    }, { timeoutMs: 300_000, intervalMs: 500, what: "bundle grown" }).catch((e) => invalid.push((e as Error).message));
    await quiet(pid);
    full = await bundleCerts();
    const whileFull = { rssMiB: procStatus(pid, "VmRSS"), peakMiB: procStatus(pid, "VmHWM"), load: load() };

    const t1 = Date.now();
    // One deletecollection; on a loaded machine the apiserver may time it out (504) part way: again until none is left.
    const labelSelector = "eck.k8s.elastic.co/client-certificate=true";
    await eventually(async () => {
      await core.deleteCollectionNamespacedSecret({ namespace: NS, labelSelector }).catch(() => {});
      if ((await core.listNamespacedSecret({ namespace: NS, labelSelector, limit: 1 })).items.length) throw new Error("labelled Secrets left");
    }, { timeoutMs: 600_000, intervalMs: 1000, what: "every labelled Secret deleted" });
    await eventually(async () => {
      if ((await bundleCerts()) !== 1) throw new Error("bundle not back to the CA alone");
    }, { timeoutMs: 300_000, intervalMs: 250, what: "bundle back to the CA" }).catch((e) => invalid.push((e as Error).message));
    const backS = (Date.now() - t1) / 1000;
    const after: Record<string, number> = {};
    const afterStart = Date.now();
    for (let s = 0; s <= AFTER_S; s += 30) {
      await Bun.sleep(Math.max(0, afterStart + s * 1000 - Date.now()));
      after[`${s}s`] = procStatus(pid, "VmRSS");
    }
    const peakMiB = procStatus(pid, "VmHWM");
    const end = after[`${AFTER_S - (AFTER_S % 30)}s`]!;
    const probed = await probe();
    return {
      mode: "burst",
      secrets: SECRETS,
      createdS: Math.round(createdS * 10) / 10,
      baseline,
      full: { bundleCertificates: full - 1, ...whileFull },
      bundleBackToCaS: Math.round(backS * 10) / 10,
      rssAfterMiB: after,
      peakMiB,
      endOverBaseline: Math.round((end / baseline.rssMiB) * 100) / 100,
      probeAtEnd: probed,
      ...(SAMPLE_MS ? { peakSample: peakSample() } : {}),
      loadEnd: load(),
      goals: { peakUnder256: peakMiB < 256, backWithin1_5x: end <= 1.5 * baseline.rssMiB },
    };
  } catch (e) {
    console.error(controller?.logs.slice(-30).join("\n"));
    throw e;
  } finally {
    await controller?.stop();
    await cp.stop();
  }
}

function lists(events: AuditEvent[]) {
  const mine = events.filter((e) => e.user.username === CONTROLLER_USER && e.stage === "ResponseComplete" && e.verb === "list");
  const paged = mine.filter((e) => /[?&]limit=/.test(e.requestURI ?? ""));
  const byResource: Record<string, number> = {};
  for (const e of mine) byResource[e.objectRef?.resource ?? "?"] = (byResource[e.objectRef?.resource ?? "?"] ?? 0) + 1;
  return { total: mine.length, paged: paged.length, byResource };
}

async function scale() {
  const SECRETS_PER_CLUSTER = 10;
  const PODS_PER_CLUSTER = 3;
  const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, auditLists: true });
  let controller: ControllerProcess | undefined;
  try {
    const kc = cp.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const namespaces = Array.from({ length: 10 }, (_, i) => `scale-${i}`);
    await prepareCluster(core, namespaces);
    const kubeconfig = await cp.kubeconfigFor(CONTROLLER_USER, ["system:masters"]);

    // Baseline: the same controller, nothing to manage, same control plane.
    const empty = await startController(kubeconfig, CONTROLLER_ARGS);
    await empty.controller.waitReady(120_000);
    await quiet(empty.pid);
    const baseline = { rssMiB: procStatus(empty.pid, "VmRSS"), peakMiB: procStatus(empty.pid, "VmHWM"), probe: await empty.probe(), load: load() };
    await empty.controller.stop();

    const t0 = Date.now();
    const clusters = Array.from({ length: CLUSTERS }, (_, i) => ({ ns: namespaces[i % 10]!, name: `es-${String(i).padStart(4, "0")}` }));
    const uids = new Map<string, string>();
    await pool(clusters, 16, async (c) => {
      const es = (await custom.createNamespacedCustomObject({
        ...ES,
        namespace: c.ns,
        body: { apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", metadata: { name: c.name }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: PODS_PER_CLUSTER }] } },
      })) as { metadata: { uid: string } };
      uids.set(`${c.ns}/${c.name}`, es.metadata.uid);
    });
    await pool(clusters.flatMap((c) => Array.from({ length: SECRETS_PER_CLUSTER }, (_, j) => ({ c, j }))), 16, async ({ c, j }) =>
      core.createNamespacedSecret({
        namespace: c.ns,
        body: {
          metadata: { name: `${c.name}-client-${j}`, labels: clientCertLabels(c.name, c.ns), ownerReferences: [{ apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", name: c.name, uid: uids.get(`${c.ns}/${c.name}`)! }] },
          stringData: { "tls.crt": await certPem(`${c.ns}-${c.name}-client-${j}`) },
        },
      }),
    );
    await pool(clusters.flatMap((c) => Array.from({ length: PODS_PER_CLUSTER }, (_, j) => ({ c, j }))), 16, ({ c, j }) =>
      core.createNamespacedPod({
        namespace: c.ns,
        body: {
          metadata: { name: `${c.name}-es-default-${j}`, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": c.name, "elasticsearch.k8s.elastic.co/statefulset-name": `${c.name}-es-default` } },
          spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
        },
      }),
    );
    const createdS = (Date.now() - t0) / 1000;

    const syncStart = Date.now();
    const started = await startController(kubeconfig, CONTROLLER_ARGS);
    controller = started.controller;
    // Ready: every cache has listed (the paged lists' part of the peak is in this figure).
    await controller.waitReady(600_000);
    const afterLists = { seconds: Math.round((Date.now() - syncStart) / 100) / 10, rssMiB: procStatus(started.pid, "VmRSS"), peakMiB: procStatus(started.pid, "VmHWM") };
    let synced = 0;
    await eventually(async () => {
      const list = (await custom.listClusterCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" })) as { items: Array<{ status?: { bundleSha256?: string } }> };
      synced = list.items.filter((i) => i.status?.bundleSha256).length;
      if (synced < CLUSTERS) throw new Error(`${synced}/${CLUSTERS} clusters synced`);
    }, { timeoutMs: SYNC_TIMEOUT_S * 1000, intervalMs: 1000, what: "every cluster synced" }).catch((e) => invalid.push((e as Error).message));
    const syncS = (Date.now() - syncStart) / 1000;
    await quiet(started.pid);
    const afterSync = { rssMiB: procStatus(started.pid, "VmRSS"), peakMiB: procStatus(started.pid, "VmHWM"), load: load() };
    const probed = await started.probe();
    return {
      mode: "scale",
      clusters: CLUSTERS,
      labelledSecrets: CLUSTERS * SECRETS_PER_CLUSTER,
      pods: CLUSTERS * PODS_PER_CLUSTER,
      createdS: Math.round(createdS),
      baselineNoClusters: baseline,
      initialSyncS: Math.round(syncS * 10) / 10,
      clustersSynced: synced,
      afterLists,
      afterSync,
      probeAfterSync: probed,
      ...(SAMPLE_MS ? { peakSample: started.peakSample() } : {}),
      listRequests: lists(cp.auditEvents().filter((e) => Date.parse(e.requestReceivedTimestamp) >= syncStart)),
      goals: { under256: afterSync.rssMiB < 256 && afterSync.peakMiB < 256 },
    };
  } catch (e) {
    console.error(controller?.logs.slice(-30).join("\n"));
    throw e;
  } finally {
    await controller?.stop();
    await cp.stop();
  }
}

let result: unknown;
try {
  result = MODE === "scale" ? await scale() : await burst();
} catch (e) {
  invalid.push(`bench failed: ${(e as Error).stack ?? e}`);
}
console.log(JSON.stringify({ ...(result as object), controllerHeapEnv: HEAP_ENV, invalid }, null, 2));
process.exit(invalid.length ? 1 : 0);
