// Transitions under load (issue 10, "Done when", first bullet, for enable and disable): the whole
// system of the lifecycle test (controller and webhook, kube-controller-manager's StatefulSet, the
// test node running the shipped agent and the ES stand-in) while an independent client (the
// official @elastic/elasticsearch client, load/client.ts) sends requests continuously to the Ready
// pods as three identities: the controller's (`<es>-es-internal-client-cert`), a user's labelled
// client certificate, and none (the negative client). Kibana's identity is not in this load: the
// lifecycle cluster has no Kibana. Correct clients must see zero TLS refusals and zero 401/403 in
// every phase; the negative client must be refused in every request while Enabled and accepted
// while Disabled (or before the feature was ever on). While Enabled, a second user's labelled
// Secret is added and removed: the others must never notice, and it must be accepted by every pod
// and then refused by every pod. Connection errors are classified in load/report.ts: those on pods
// being terminated are reported in the table, not asserted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lifecycle, MTLS_SECRETS, NS } from "./lifecycle/cluster.ts";
import { notWhole, settle } from "./lifecycle/observe.ts";
import { LoadClient, type ClientCert, type Identity } from "./load/client.ts";
import { createUserIdentity, SecretIdentity, USER_SECRET } from "./load/identities.ts";
import { classify, mixedPods, rows, stopTimes, table, type Outcome, type Row, type Window } from "./load/report.ts";
import { PhaseView, PodView } from "./load/views.ts";
import { eventually } from "../support/eventually.ts";

let lc: Lifecycle;
let pods: PodView | undefined;
let phase: PhaseView | undefined;
let internal: SecretIdentity | undefined;
let load: LoadClient | undefined;
let lateUser: ClientCert | undefined;
const windows: Window[] = [];
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const CORRECT = ["controller", "user"];
const NEGATIVE = "no-certificate";
/** A user whose labelled Secret is added while Enabled, then removed. */
const LATE = "late-user";
/** Requests each client must have made in a phase before it counts as exercised. */
const ENOUGH = 15;

beforeAll(async () => {
  lc = await Lifecycle.start(verbose);
  await eventually(async () => {
    const problems = notWhole(await lc.pods());
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs: 60_000, intervalMs: 500, what: "3 Ready pods" });
  // Created before enabling, so the first bundle already pins it.
  const user = await createUserIdentity(lc);
  pods = new PodView();
  await pods.start(lc.cp.kubeConfig());
  phase = new PhaseView();
  await phase.start(lc);
  internal = new SecretIdentity(lc, MTLS_SECRETS[0]!);
  internal.start();
  load = new LoadClient(pods, phase, lc.httpCaPem);
  const identities: Identity[] = [
    { name: "controller", kind: "correct", cert: () => internal!.current }, // starts once the Secret exists
    { name: "user", kind: "correct", cert: () => user },
    { name: NEGATIVE, kind: "negative", cert: () => undefined },
    { name: LATE, kind: "correct", cert: () => lateUser }, // sends once its Secret was created
  ];
  load.start(identities);
}, 150_000);

afterAll(async () => {
  await load?.stop();
  await Promise.all([internal?.stop(), phase?.stop(), pods?.stop()]);
  if (load && pods && phase) {
    const all = rows(load.records, stopTimes(lc.node?.events ?? []), windows, phase.changes);
    console.log(`\n${table(all)}`);
    for (const r of all.filter((x) => x.identity !== NEGATIVE && x.identity !== LATE && x.examples.length)) console.log(`${r.transition}/${r.phase}/${r.identity}: ${r.examples.join("; ")}`);
    // enable/disable: from the spec change to the settled phase plus ENOUGH requests per client in it.
    for (const w of windows) console.log(`${w.transition}: ${(((w.end || Date.now()) - w.start) / 1000).toFixed(1)} s under load`);
  }
  await lc?.stop();
});

/** Waits (with a deadline) until every named client made ENOUGH requests in `phase` during the current transition. */
function enoughIn(p: string, clients: string[]): Promise<void> {
  return eventually(() => {
    const short = clients.filter((c) => load!.count(c, p) < ENOUGH);
    if (short.length) throw new Error(`${short.join(", ")} below ${ENOUGH} requests in ${p}`);
  }, { timeoutMs: 30_000, intervalMs: 200, what: `load in phase ${p}` });
}

const controllerTail = () => lc.controller?.logs.slice(-15).join("\n") ?? "";

/** Runs one transition under load and returns its rows. */
async function transition(name: string, on: boolean, baseline: boolean, after: "Enabled" | "Disabled"): Promise<Row[]> {
  const w: Window = { transition: name, start: Date.now(), end: 0 };
  windows.push(w);
  load!.transition = name;
  // Before the first switch-on the controller identity does not exist yet: the others set the baseline.
  if (baseline) await enoughIn(phase!.phase, ["user", NEGATIVE]);
  await lc.setAuthentication(on);
  await settle(lc, after, 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
  await enoughIn(after, [...CORRECT, NEGATIVE]);
  w.end = Date.now();
  const rs = rows(load!.records, stopTimes(lc.node?.events ?? []), windows, phase!.changes).filter((r) => r.transition === name);
  console.log(`\n${table(rs)}`);
  return rs;
}

/** What breaks the rules in these rows; empty = none. */
function violations(rs: Row[]): string[] {
  const out: string[] = [];
  for (const r of rs) {
    const c = r.counts;
    const where = `${r.transition}/${r.phase}/${r.identity}`;
    if (r.identity === LATE) {
      // Trusted only between "every pod accepted it" and its removal; refused once every pod dropped it.
      if (r.transition === "add cert: trusted" && (c.tls || c.auth || c["conn-live"] || c.other)) out.push(`${where}: refused after every pod had accepted it (${r.examples.join("; ")})`);
      if (r.transition === "remove cert: removed" && (c.ok || c.auth)) out.push(`${where}: accepted ${c.ok} after every pod had refused it`);
      if (c.auth) out.push(`${where}: 401/403 ${c.auth}`);
    } else if (CORRECT.includes(r.identity)) {
      if (c.tls || c.auth || c["conn-live"] || c.other) out.push(`${where}: tls ${c.tls}, 401/403 ${c.auth}, conn on a pod up ${c["conn-live"]}, other ${c.other} (${r.examples.join("; ")})`);
    } else if (r.phase === "Enabled") {
      if (c.ok || c.auth) out.push(`${where}: accepted ${c.ok}, 401/403 ${c.auth} while every pod requires a certificate`);
    } else if (r.phase === "Disabled" || r.phase === "absent") {
      if (c.tls || c.auth || c["conn-live"]) out.push(`${where}: refused while nothing requires a certificate (${r.examples.join("; ")})`);
    }
  }
  return out;
}

test("enable under load: correct clients never refused, the client without a certificate refused once Enabled", async () => {
  const rs = await transition("enable", true, true, "Enabled");
  expect(violations(rs)).toEqual([]);
  // Both sides of the negative rule were exercised, not vacuously true.
  expect(rs.find((r) => r.identity === NEGATIVE && (r.phase === "absent" || r.phase === "Disabled"))?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === NEGATIVE && r.phase === "Enabled")?.counts.tls).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === "controller" && r.phase === "Enabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);

/** Waits until every Ready pod answered LATE with `want` since `since`; returns when. */
function everyPod(want: Outcome, since: number, what: string): Promise<number> {
  return eventually(() => {
    const seen = new Set(load!.records.filter((r) => r.identity === LATE && r.sentAt >= since && classify(r, stopTimes(lc.node?.events ?? [])) === want).map((r) => r.pod.uid));
    const missing = pods!.ready().filter((p) => !seen.has(p.uid)).map((p) => p.name);
    if (missing.length) throw new Error(`not yet from ${missing.join(", ")}`);
    return Date.now();
  }, { timeoutMs: 60_000, intervalMs: 100, what });
}

/** When every pod's agent reports the intent's current bundle on disk, and its hash. */
function bundleEverywhere(notHash: string | undefined): Promise<string> {
  return eventually(async () => {
    const s = await lc.status();
    if (!s?.bundleSha256 || s.bundleSha256 === notHash) throw new Error("bundle unchanged");
    const behind = (s.pods as Array<{ name: string; bundleSha256?: string }>).filter((p) => p.bundleSha256 !== s.bundleSha256);
    if (behind.length) throw new Error(`behind: ${behind.map((p) => p.name).join(", ")}`);
    return s.bundleSha256 as string;
  }, { timeoutMs: 60_000, intervalMs: 200, what: "the new bundle on every pod" });
}

test("labelled certificate added and removed while Enabled: the others never refused; the new one accepted everywhere, then refused everywhere", async () => {
  const step = (name: string) => {
    const now = Date.now();
    const prev = windows.at(-1);
    if (prev && !prev.end) prev.end = now;
    windows.push({ transition: name, start: now, end: 0 });
    load!.transition = name;
    return now;
  };
  const hash0 = (await lc.status())?.bundleSha256 as string | undefined;
  const added = step("add cert: propagating");
  lateUser = await createUserIdentity(lc, `${USER_SECRET}-late`, "late-user");
  const onDisk = await bundleEverywhere(hash0);
  const onDiskAt = Date.now();
  const trusted = await everyPod("ok", added, "late-user accepted by every pod");
  step("add cert: trusted");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE, LATE]);
  const removed = step("remove cert: propagating");
  await lc.core.deleteNamespacedSecret({ name: `${USER_SECRET}-late`, namespace: NS });
  await bundleEverywhere(onDisk);
  const dropped = await everyPod("tls", removed, "late-user refused by every pod");
  step("remove cert: removed");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE, LATE]);
  windows.at(-1)!.end = Date.now();
  // The agents' proofs do not show when ES re-read the bundle (they present the pod's own certificate): the new one is refused until then.
  console.log(`late-user: new bundle on every pod's disk (status) ${((onDiskAt - added) / 1000).toFixed(1)} s, accepted by every pod ${((trusted - added) / 1000).toFixed(1)} s after its Secret was created; refused by every pod ${((dropped - removed) / 1000).toFixed(1)} s after it was deleted (ES re-reads its files every 5 s)`);
  const rs = rows(load!.records, stopTimes(lc.node?.events ?? []), windows, phase!.changes).filter((r) => r.transition.includes("cert"));
  console.log(`\n${table(rs)}`);
  expect(violations(rs)).toEqual([]);
  expect(rs.find((r) => r.identity === LATE && r.transition === "add cert: trusted")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === LATE && r.transition === "remove cert: removed")?.counts.tls).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);

test("disable under load: correct clients never refused, the client without a certificate accepted once Disabled", async () => {
  const rs = await transition("disable", false, false, "Disabled");
  expect(violations(rs)).toEqual([]);
  // Refused or accepted per pod, never both: refusals come from pods that require, not from flakes.
  expect(mixedPods(load!.records, NEGATIVE, stopTimes(lc.node?.events ?? []))).toEqual([]);
  expect(rs.find((r) => r.identity === NEGATIVE && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === "user" && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);
