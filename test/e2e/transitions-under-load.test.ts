// Transitions under load (issue 10, "Done when", first bullet, for enable and disable): the whole
// system of the lifecycle test (controller and webhook, kube-controller-manager's StatefulSet, the
// test node running the shipped agent and the ES stand-in) while an independent client (the
// official @elastic/elasticsearch client, load/client.ts) sends requests continuously to the Ready
// pods as three identities: the controller's (`<es>-es-internal-client-cert`), a user's labelled
// client certificate, and none (the negative client). Kibana's identity is not in this load: the
// lifecycle cluster has no Kibana. Correct clients must see zero TLS refusals and zero 401/403 in
// every phase; the negative client must be refused in every request while Enabled and accepted
// while Disabled (or before the feature was ever on). Connection errors are classified in
// load/report.ts: those on pods being terminated are reported in the table, not asserted.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lifecycle, MTLS_SECRETS } from "./lifecycle/cluster.ts";
import { notWhole, settle } from "./lifecycle/observe.ts";
import { LoadClient, type Identity } from "./load/client.ts";
import { createUserIdentity, SecretIdentity } from "./load/identities.ts";
import { rows, table, type Row, type Window } from "./load/report.ts";
import { PhaseView, PodView } from "./load/views.ts";
import { eventually } from "../support/eventually.ts";

let lc: Lifecycle;
let pods: PodView | undefined;
let phase: PhaseView | undefined;
let internal: SecretIdentity | undefined;
let load: LoadClient | undefined;
const windows: Window[] = [];
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const CORRECT = ["controller", "user"];
const NEGATIVE = "no-certificate";
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
  ];
  load.start(identities);
}, 150_000);

afterAll(async () => {
  await load?.stop();
  await Promise.all([internal?.stop(), phase?.stop(), pods?.stop()]);
  if (load && pods && phase) {
    console.log(`\n${table(rows(load.records, pods.deletedAt, windows, phase.changes))}`);
    for (const w of windows) console.log(`${w.transition}: ${((w.end - w.start) / 1000).toFixed(1)} s under load (from the spec change to the settled phase plus ${ENOUGH} requests per client in it)`);
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
  const rs = rows(load!.records, pods!.deletedAt, windows, phase!.changes).filter((r) => r.transition === name);
  console.log(`\n${table(rs)}`);
  return rs;
}

/** What breaks the rules in these rows; empty = none. */
function violations(rs: Row[]): string[] {
  const out: string[] = [];
  for (const r of rs) {
    const c = r.counts;
    const where = `${r.transition}/${r.phase}/${r.identity}`;
    if (CORRECT.includes(r.identity)) {
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

test("disable under load: correct clients never refused, the client without a certificate accepted once Disabled", async () => {
  const rs = await transition("disable", false, false, "Disabled");
  expect(violations(rs)).toEqual([]);
  expect(rs.find((r) => r.identity === NEGATIVE && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === "user" && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);
