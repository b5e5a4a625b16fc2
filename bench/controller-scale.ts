// The controller at scale on the real control plane: N Elasticsearch clusters with client
// authentication on, 10 labelled client-certificate Secrets each (owned by their cluster, each
// a distinct certificate), 3 pods each, spread over 10 namespaces; all in the apiserver before
// the controller starts. For each N (default 100 then 1000, a fresh control plane each):
//   - initial sync: controller start → every cluster's ClientAuthentication has a bundle hash,
//     and the writes it took (audit log);
//   - controller RSS (VmRSS after sync, VmHWM peak);
//   - one Secret change → that cluster's bundle Secret updated: p50/p99 over --changes changes,
//     one at a time, while every other cluster is idle;
//   - writes per no-op resync (audit log, controller's user, Leases excluded) and the controller's
//     CPU seconds per resync (--resync period; the window holds two of them);
//   - for every phase (initial sync, changes, resyncs), the controller's queue histograms (/metrics): how long keys waited in each
//     lane (change, resync) and how long their reconciles took, so a slow change shows where it waited.
// The growth from the smallest to the largest N is the same-run baseline (per-cluster cost
// constant = linear total; growing per-cluster cost = worse than linear).
// Run: npx bun bench/controller-scale.ts [--clusters=100,1000] [--changes=20] [--resync-s=20] [--heap-prof-dir=DIR] [--cpu-prof-dir=DIR] [--heap-env=chart|none]
// (--heap-prof-dir: the controller writes a heap profile (and its markdown summary) there on exit;
//  --cpu-prof-dir: the controller writes a CPU profile there on exit (whole run: read it with
//  bench/support/cpuprofile-summary.ts);
//  --controller-bun-options="--smol": extra Bun flags for the controller process)
// Exits 1 only when a result is invalid (a cluster never synced, a change never reached its bundle).
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { x509 } from "../common/x509.ts";
import { ControlPlane, type AuditEvent } from "../test/controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../test/controlplane/crds.ts";
import { ELASTICSEARCH as ES } from "../controller/resources.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "../controller/pki/keys.ts";
import { ControllerProcess } from "../test/support/controller-process.ts";
import { heapEnvFlag } from "./support/chart-heap-env.ts";
import { prepareCluster } from "../test/support/cluster-setup.ts";
import { clientCertLabels } from "../test/support/client-cert-secret.ts";
import { eventually } from "../test/support/eventually.ts";

const argOf = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const SIZES = (argOf("clusters") ?? "100,1000").split(",").map(Number);
const CHANGES = Number(argOf("changes") ?? 20);
const RESYNC_S = Number(argOf("resync-s") ?? 20);
const SECRETS_PER_CLUSTER = 10;
const PODS_PER_CLUSTER = 3;
const NAMESPACES = 10;
const CONTROLLER_USER = "es-mtls-controller";
const HEAP_PROF_DIR = argOf("heap-prof-dir");
const CPU_PROF_DIR = argOf("cpu-prof-dir");
// One replica, no failover measured here: a long Lease, so a machine loaded by other runs (a
// renewal late by more than the tests' 6 s) does not end the run (the controller exits on a lost Lease).
const LEASE_ARGS = ["--lease-duration=120s", "--lease-retry=10s"];
const HEAP_ENV = heapEnvFlag(argOf("heap-env"));
const CONTROLLER_BUN_OPTIONS = process.argv.find((a) => a.startsWith("--controller-bun-options="))?.slice("--controller-bun-options=".length) ?? "";

const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.max(0, Math.ceil((p / 100) * xs.length) - 1))] ?? NaN;
const procStatus = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024;
const cpuSeconds = (pid: number) => {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return (Number(rest[11]) + Number(rest[12])) / 100;
};
const invalid: string[] = [];

/** The controller's queue histograms (controller/metrics.ts), as bucket counts by lane: where a change waits. */
type Histograms = Record<string, Record<string, number>>;
async function queueHistograms(c: ControllerProcess): Promise<Histograms> {
  const out: Histograms = {};
  const text = await (await c.health("/metrics")).text().catch(() => "");
  for (const m of text.matchAll(/^es_mtls_controller_reconcile_(queue_wait|duration)_seconds_(bucket|count|sum)\{lane="(\w+)"(?:,le="([^"]+)")?\} (\S+)$/gm)) {
    const [, what, kind, lane, le, v] = m;
    ((out[`${what}.${lane}`] ??= {})[kind === "bucket" ? `le ${le}` : kind!] = Number(v));
  }
  return out;
}
/** What the histograms counted between two snapshots, per lane: observations in each bucket (not cumulative), and the mean. */
function histogramDelta(a: Histograms, b: Histograms) {
  const out: Record<string, { n: number; meanMs: number; buckets: Record<string, number> }> = {};
  for (const [name, h] of Object.entries(b)) {
    const before = a[name] ?? {};
    const n = (h.count ?? 0) - (before.count ?? 0);
    if (n <= 0) continue;
    const buckets: Record<string, number> = {};
    let below = 0;
    for (const [k, v] of Object.entries(h).filter(([k]) => k.startsWith("le "))) {
      const cumulative = v - (before[k] ?? 0);
      if (cumulative - below > 0) buckets[k.replace("le ", "≤")] = cumulative - below;
      below = cumulative;
    }
    out[name] = { n, meanMs: Math.round((((h.sum ?? 0) - (before.sum ?? 0)) / n) * 10000) / 10, buckets };
  }
  return out;
}

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

function controllerWrites(events: AuditEvent[], from: number, to = Infinity) {
  const writes = events.filter((e) => e.user.username === CONTROLLER_USER && e.stage === "ResponseComplete" && e.objectRef?.resource !== "leases")
    .filter((e) => {
      const t = Date.parse(e.requestReceivedTimestamp);
      return t >= from && t < to;
    });
  const byResource: Record<string, number> = {};
  for (const e of writes) {
    const k = `${e.verb} ${e.objectRef?.resource}${e.objectRef?.subresource ? "/" + e.objectRef.subresource : ""}`;
    byResource[k] = (byResource[k] ?? 0) + 1;
  }
  return { total: writes.length, byResource };
}

async function runSize(n: number) {
  const t = { start: Date.now() } as Record<string, number>;
  const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true });
  let controller: ControllerProcess | undefined;
  try {
    const kc = cp.kubeConfig();
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const namespaces = Array.from({ length: NAMESPACES }, (_, i) => `scale-${i}`);
    await prepareCluster(core, namespaces);
    const clusters = Array.from({ length: n }, (_, i) => ({ ns: namespaces[i % NAMESPACES]!, name: `es-${String(i).padStart(4, "0")}` }));

    // Everything exists before the controller starts.
    const uids = new Map<string, string>();
    await pool(clusters, 16, async (c) => {
      const es = (await custom.createNamespacedCustomObject({
        ...ES,
        namespace: c.ns,
        body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: c.name }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: PODS_PER_CLUSTER }] } },
      })) as { metadata: { uid: string } };
      uids.set(`${c.ns}/${c.name}`, es.metadata.uid);
    });
    const secretJobs = clusters.flatMap((c) => Array.from({ length: SECRETS_PER_CLUSTER }, (_, j) => ({ c, j })));
    await pool(secretJobs, 16, async ({ c, j }) => {
      await core.createNamespacedSecret({
        namespace: c.ns,
        body: {
          metadata: { name: `${c.name}-client-${j}`, labels: clientCertLabels(c.name, c.ns), ownerReferences: [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: c.name, uid: uids.get(`${c.ns}/${c.name}`)! }] },
          stringData: { "tls.crt": await certPem(`${c.ns}-${c.name}-client-${j}`) },
        },
      });
    });
    const podJobs = clusters.flatMap((c) => Array.from({ length: PODS_PER_CLUSTER }, (_, j) => ({ c, j })));
    await pool(podJobs, 16, ({ c, j }) =>
      core.createNamespacedPod({
        namespace: c.ns,
        body: {
          metadata: { name: `${c.name}-es-default-${j}`, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": c.name, "elasticsearch.k8s.elastic.co/statefulset-name": `${c.name}-es-default` } },
          spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0" }] },
        },
      }),
    );
    t.objectsCreated = Date.now();

    // Initial sync.
    const kubeconfig = await cp.kubeconfigFor(CONTROLLER_USER, ["system:masters"]);
    const syncStart = Date.now();
    const bunOptions = [CONTROLLER_BUN_OPTIONS, HEAP_PROF_DIR ? `--heap-prof --heap-prof-md --heap-prof-dir=${HEAP_PROF_DIR}/${n}` : "", CPU_PROF_DIR ? `--cpu-prof --cpu-prof-dir=${CPU_PROF_DIR}/${n}` : ""].filter(Boolean).join(" ");
    if (bunOptions) process.env.BUN_OPTIONS = bunOptions;
    controller = await ControllerProcess.start({ kubeconfig, name: "controller-a", namespace: "es-mtls-system", extraArgs: [`--resync=${RESYNC_S}s`, ...LEASE_ARGS], env: HEAP_ENV });
    delete process.env.BUN_OPTIONS;
    const pid = controller.child.pid!;
    const running = controller;
    // Why a result is invalid when the controller is gone (e.g. it lost its Lease): its last log lines.
    const exited = () => (running.child.exitCode !== null || running.child.signalCode !== null ? ` (controller exited ${running.child.exitCode ?? running.child.signalCode}: ${running.logs.slice(-8).join(" | ")})` : "");
    await controller.waitReady(120_000);
    let synced = 0;
    await eventually(async () => {
      const list = (await custom.listClusterCustomObject({ group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications" })) as { items: Array<{ status?: { bundleSha256?: string } }> };
      synced = list.items.filter((i) => i.status?.bundleSha256).length;
      if (synced < n) throw new Error(`${synced}/${n} clusters synced`);
    }, { timeoutMs: 240_000, intervalMs: 250, what: "every cluster synced" }).catch((e) => invalid.push(`n=${n}: ${(e as Error).message}${exited()}`));
    const initialSyncS = (Date.now() - syncStart) / 1000;
    // Quiet: no controller write for 3 s (stragglers such as Events finish).
    let lastCount = -1;
    for (let i = 0; i < 60; i++) {
      const c = controllerWrites(cp.auditEvents(), syncStart).total;
      if (c === lastCount) break;
      lastCount = c;
      await Bun.sleep(3000);
    }
    const syncWrites = controllerWrites(cp.auditEvents(), syncStart);
    const rssAfterSync = procStatus(pid, "VmRSS");

    // One Secret change → that cluster's bundle Secret, one change at a time.
    const changeMs: number[] = [];
    const histogramsBeforeChanges = await queueHistograms(controller);
    for (let k = 0; k < CHANGES; k++) {
      const c = clusters[Math.floor((k * 7919) % n)]!;
      const pem = await certPem(`changed-${k}`);
      const line = pem.split("\n")[1]!;
      const t0 = performance.now();
      await core.patchNamespacedSecret({ name: `${c.name}-client-${k % SECRETS_PER_CLUSTER}`, namespace: c.ns, body: { data: { "tls.crt": btoa(pem) } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
      try {
        await eventually(async () => {
          const s = await core.readNamespacedSecret({ name: `${c.name}-es-client-trust-bundle`, namespace: c.ns });
          if (!atob(s.data!["client-trust-bundle.crt"]!).includes(line)) throw new Error("not yet");
        }, { timeoutMs: 30_000, intervalMs: 5, what: `bundle of ${c.ns}/${c.name}` });
        changeMs.push(Math.round(performance.now() - t0));
      } catch (e) {
        invalid.push(`n=${n}: change ${k} never reached ${c.ns}/${c.name}: ${(e as Error).message}`);
      }
    }
    await Bun.sleep(2000); // the changed clusters' status writes settle
    const histogramsAfterChanges = await queueHistograms(controller);

    // No-op resyncs: a window of two resync periods with nothing changed.
    const windowStart = Date.now();
    const cpu0 = cpuSeconds(pid);
    await Bun.sleep(RESYNC_S * 2 * 1000 + 1000);
    const cpuWindow = cpuSeconds(pid) - cpu0;
    const resyncWrites = controllerWrites(cp.auditEvents(), windowStart);
    const histogramsAfterWindow = await queueHistograms(controller);
    const resyncs = 2;

    return {
      clusters: n,
      labelledSecrets: n * SECRETS_PER_CLUSTER,
      pods: n * PODS_PER_CLUSTER,
      objectsCreatedS: Math.round((t.objectsCreated! - t.start!) / 100) / 10,
      initialSync: { seconds: Math.round(initialSyncS * 10) / 10, clustersSynced: synced, writes: syncWrites.total, writesPerCluster: Math.round((syncWrites.total / n) * 10) / 10, byResource: syncWrites.byResource, queue: histogramDelta({}, histogramsBeforeChanges) },
      controllerRssMiB: { afterSync: Math.round(rssAfterSync), peak: Math.round(procStatus(pid, "VmHWM")), end: Math.round(procStatus(pid, "VmRSS")) },
      changeToBundleMs: { n: changeMs.length, p50: pct(changeMs, 50), p99: pct(changeMs, 99), max: Math.max(...changeMs), all: changeMs, queue: histogramDelta(histogramsBeforeChanges, histogramsAfterChanges) },
      noOpResync: { windowS: RESYNC_S * 2 + 1, resyncs, writes: resyncWrites.total, writesPerResync: resyncWrites.total / resyncs, byResource: resyncWrites.byResource, cpuSecondsPerResync: Math.round((cpuWindow / resyncs) * 100) / 100, cpuMsPerClusterPerResync: Math.round(((cpuWindow / resyncs) * 1000 / n) * 100) / 100, queue: histogramDelta(histogramsAfterChanges, histogramsAfterWindow) },
      totalS: Math.round((Date.now() - t.start!) / 100) / 10,
    };
  } finally {
    await controller?.stop();
    await cp.stop();
  }
}

const rows = [];
try {
  for (const n of SIZES) rows.push(await runSize(n));
} catch (e) {
  invalid.push(`bench failed: ${(e as Error).stack ?? e}`);
}
const first = rows[0];
const last = rows.at(-1);
const growth = first && last && last !== first
  ? {
      clustersRatio: last.clusters / first.clusters,
      initialSync: Math.round((last.initialSync.seconds / first.initialSync.seconds) * 10) / 10,
      rssAfterSync: Math.round((last.controllerRssMiB.afterSync / first.controllerRssMiB.afterSync) * 10) / 10,
      changeToBundleP50: Math.round((last.changeToBundleMs.p50 / first.changeToBundleMs.p50) * 10) / 10,
      changeToBundleP99: Math.round((last.changeToBundleMs.p99 / first.changeToBundleMs.p99) * 10) / 10,
      cpuPerResync: Math.round((last.noOpResync.cpuSecondsPerResync / Math.max(first.noOpResync.cpuSecondsPerResync, 0.01)) * 10) / 10,
    }
  : undefined;
const targets = last && {
  rssUnder256MiB: last.controllerRssMiB.peak < 256,
  changeToBundleP99Under100ms: last.changeToBundleMs.p99 < 100,
  zeroWritesPerNoOpResync: last.noOpResync.writes === 0,
};
console.log(JSON.stringify({ bench: "controller-scale", date: new Date().toISOString(), machine: "2 cores, 24 GiB (shared)", controllerBunOptions: CONTROLLER_BUN_OPTIONS, controllerHeapEnv: HEAP_ENV, rows, growth, targets, invalid }, null, 2));
console.log(
  rows.map((r) => `${r.clusters} clusters: sync ${r.initialSync.seconds} s, RSS ${r.controllerRssMiB.afterSync} MiB (peak ${r.controllerRssMiB.peak}), change → bundle p50 ${r.changeToBundleMs.p50} / p99 ${r.changeToBundleMs.p99} ms, ${r.noOpResync.writesPerResync} writes and ${r.noOpResync.cpuSecondsPerResync} CPU-s per no-op resync`).join("; ") +
    (growth ? `; ×${growth.clustersRatio} clusters → sync ×${growth.initialSync}, RSS ×${growth.rssAfterSync}, change p99 ×${growth.changeToBundleP99}, resync CPU ×${growth.cpuPerResync}` : "") +
    (invalid.length ? ` — INVALID: ${invalid.join("; ")}` : ""),
);
process.exit(invalid.length ? 1 : 0);
