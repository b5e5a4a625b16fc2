// Transitions under load (issue 10, "Done when", first bullet): the whole system of the lifecycle
// test (controller and webhook, kube-controller-manager's StatefulSet and Deployment, the test node
// running the shipped agent and the ES and Kibana stand-ins) while an independent client (the
// official @elastic/elasticsearch client, load/client.ts) sends requests continuously to the Ready
// ES pods as four identities: the controller's (`<es>-es-internal-client-cert`), Kibana's (what the
// serving Kibana pod loaded at start, load/identities.ts), a user's labelled client certificate,
// and none (the negative client). Correct clients must see zero TLS refusals, zero 401/403 and zero
// connection errors on a pod not told to stop in every phase; the negative client must be refused
// in every request while Enabled and accepted while Disabled (or before the feature was ever on).
// One cluster lifetime runs, in order: enable; adding and removing a labelled certificate; Kibana
// switching to clientCertificateSecretName and back; disable. Meanwhile, from the end of enable,
// on the controller's own clock: a client CA rotation and the renewal of every agent's leaf (short
// validities make them happen within the run; each is watched until complete, load/background.ts,
// and judged over its time span). Agent certificates live AGENT_VALIDITY_S (renewed at 2/3), the
// client CA CA_VALIDITY_S, rotated CA_ROTATE_BEFORE_S before it expires. The proportions matter, as
// with the defaults (168 h, 1 year / 24 h): the third of a leaf's life left after its renewal must
// cover a Kibana restart (to load it), so a leaf of the outgoing CA, capped at that CA's expiry,
// must be issued long enough before it. Connection errors on a terminating pod are classified in
// load/report.ts; with the ES stand-in's graceful drain only the routing lag remains, asserted
// within ROUTING_LAG_MS.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lifecycle, NS, MTLS_SECRETS, REPLICAS } from "./lifecycle/cluster.ts";
import { notWhole } from "./lifecycle/observe.ts";
import { LoadClient, type ClientCert, type Identity } from "./load/client.ts";
import { createUserIdentity, KibanaIdentity, SecretIdentity, USER_SECRET } from "./load/identities.ts";
import { TestCA } from "../support/test-ca.ts";
import { RenewalWatch, RotationWatch, type Span } from "./load/background.ts";
import { sameCert, signedBy } from "./load/pki.ts";
import { classify, mixedPods, rows, stopTimes, table, terminationErrors, type Outcome, type Row, type Window } from "./load/report.ts";
import { PhaseView, PodView } from "./load/views.ts";
import { createKibana, KB_SELECTOR, kibanaPods } from "../local-cluster/kibana.ts";
import { eventually } from "../support/eventually.ts";
import { KIBANA } from "../../controller/resources.ts";
import { ES_NAME } from "./lifecycle/cluster.ts";
import { x509 } from "../../common/x509.ts";

const X509 = x509.X509Certificate;

const AGENT_VALIDITY_S = 75;
const CA_VALIDITY_S = 160;
const CA_ROTATE_BEFORE_S = 80;
const CERT_ROTATE_BEFORE_S = 20;
/**
 * A request may reach a pod after the test node sent it SIGTERM only within the routing lag: the
 * node and the load's pod watch see the deletion through two watches of the same apiserver, and
 * the load may pick a pod a few ms before its own watch delivers the event (a kube-proxy's lag,
 * much smaller). Such a request meets a closed listener (refused). Anything later, or any
 * request in flight at SIGTERM that fails, breaks the graceful drain.
 */
const ROUTING_LAG_MS = 1000;

let lc: Lifecycle;
let pods: PodView | undefined;
let phase: PhaseView | undefined;
let internal: SecretIdentity | undefined;
let kibana: KibanaIdentity | undefined;
let load: LoadClient | undefined;
let rotation: RotationWatch | undefined;
let renewal: RenewalWatch | undefined;
let renewalStatus0: Map<string, string> | undefined;
let lateUser: ClientCert | undefined;
const windows: Window[] = [];
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const CORRECT = ["controller", "kibana", "user"];
const NEGATIVE = "no-certificate";
/** A user whose labelled Secret is added while Enabled, then removed. */
const LATE = "late-user";
/** Requests each client must have made in a phase before it counts as exercised. */
const ENOUGH = 15;
const t0 = Date.now();

beforeAll(async () => {
  lc = await Lifecycle.start(verbose, {
    controllerArgs: [
      `--agent-cert-validity=${AGENT_VALIDITY_S}s`,
      `--ca-cert-validity=${CA_VALIDITY_S}s`,
      `--ca-cert-rotate-before=${CA_ROTATE_BEFORE_S}s`,
      // In proportion too: the controller's certificate is capped at its CA's expiry, and with the
      // default 24 h it would always be inside its rotate-before window (reissued on every reconcile).
      `--cert-rotate-before=${CERT_ROTATE_BEFORE_S}s`,
    ],
  });
  await createKibana(lc);
  await eventually(async () => {
    const problems = notWhole(await lc.pods());
    if (!(await kibanaPods(lc)).some(ready)) problems.push("no Ready Kibana pod");
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs: 60_000, intervalMs: 500, what: "3 Ready ES pods and a Ready Kibana" });
  // Created before enabling, so the first bundle already pins it.
  const user = await createUserIdentity(lc);
  pods = new PodView();
  await pods.start(lc.cp.kubeConfig());
  phase = new PhaseView();
  await phase.start(lc);
  internal = new SecretIdentity(lc, MTLS_SECRETS[0]!);
  internal.start();
  kibana = new KibanaIdentity(lc, KB_SELECTOR);
  kibana.start();
  load = new LoadClient(pods, phase, lc.httpCaPem);
  const identities: Identity[] = [
    { name: "controller", kind: "correct", cert: () => internal!.current }, // starts once the Secret exists
    { name: "kibana", kind: "correct", cert: () => kibana!.current }, // none until its agent was injected
    { name: "user", kind: "correct", cert: () => user },
    { name: NEGATIVE, kind: "negative", cert: () => null },
    { name: LATE, kind: "correct", cert: () => lateUser }, // sends once its Secret was created
  ];
  load.start(identities);
  console.log(`set-up: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
}, 150_000);

const ready = (p: { metadata?: { deletionTimestamp?: unknown }; status?: { conditions?: Array<{ type: string; status: string }> } }) =>
  !p.metadata?.deletionTimestamp && !!p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");

afterAll(async () => {
  await load?.stop();
  await Promise.all([internal?.stop(), kibana?.stop(), phase?.stop(), pods?.stop()]);
  if (load && pods && phase) {
    const all = rows(load.records, stopTimes(lc.node?.events ?? []), windows, phase.changes);
    console.log(`\n${table(all)}`);
    for (const r of all.filter((x) => x.identity !== NEGATIVE && x.identity !== LATE && x.examples.length)) console.log(`${r.transition}/${r.phase}/${r.identity}: ${r.examples.join("; ")}`);
    // Each transition: from its first change to its settled state plus ENOUGH requests per client in it.
    for (const w of windows) console.log(`${w.transition}: ${(((w.end || Date.now()) - w.start) / 1000).toFixed(1)} s under load`);
    const term = terminationErrors(load.records.filter((r) => CORRECT.includes(r.identity)), stopTimes(lc.node?.events ?? []));
    const lags = term.filter((e) => !e.inFlight).map((e) => e.sentAfterMs);
    console.log(`correct clients' connection errors on terminating pods: ${term.length} (${term.filter((e) => e.inFlight).length} in flight at SIGTERM${lags.length ? `, the others sent ${Math.min(...lags)}–${Math.max(...lags)} ms after it` : ""}), of ${load.records.filter((r) => CORRECT.includes(r.identity)).length} requests`);
    console.log(`whole file: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    // For diagnosing a refusal: every refused request of a correct client, Kibana's identities, the controller's log.
    if (process.env.ES_MTLS_LOAD_DUMP) {
      const stopped = stopTimes(lc.node?.events ?? []);
      const refused = load.records.filter((r) => CORRECT.includes(r.identity) && classify(r, stopped) !== "ok");
      const kb = kibana?.history.map((h) => ({ ...h, cert: h.cert ? new X509(h.cert.cert).serialNumber : null }));
      await Bun.write(process.env.ES_MTLS_LOAD_DUMP, JSON.stringify({ t0, windows, phases: phase.changes, refused, kibana: kb, controller: lc.controller?.logs, events: lc.node?.events, agents: lc.agents.map((a) => ({ pod: a.pod, uid: a.uid, logs: a.agent.logs })) }, null, 1));
    }
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

/**
 * Waits until the phase is `want`, every pod (ES and Kibana) proven (n/n, n = ES pods + Kibana),
 * the ES pods whole and a Kibana Ready.
 */
function settle(want: "Enabled" | "Disabled", timeoutMs = 120_000): Promise<Record<string, any>> {
  return eventually(async () => {
    const s = await lc.status();
    if (s?.phase !== want) throw new Error(`phase ${s?.phase}, proven ${s?.podsProven}, ${s?.conditions?.find((c: any) => c.type === "PodsUpToDate")?.message ?? ""}`);
    const [proven, all] = String(s.podsProven).split("/").map(Number);
    if (want === "Enabled" && !(proven === all && all! > REPLICAS)) throw new Error(`proven ${s.podsProven}`);
    const problems = notWhole(await lc.pods());
    if (!(await kibanaPods(lc)).some(ready)) problems.push("no Ready Kibana pod");
    if (problems.length) throw new Error(problems.join("; "));
    return s;
  }, { timeoutMs, intervalMs: 500, what: `phase ${want} with every pod whole` }).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
}

/** Opens the window of a transition (closing the previous one) and labels the load with it. */
function step(name: string): number {
  const now = Date.now();
  const prev = windows.at(-1);
  if (prev && !prev.end) prev.end = now;
  windows.push({ transition: name, start: now, end: 0 });
  load!.transition = name;
  return now;
}

/** Closes the current window and returns its rows, printed. */
function closeWindow(prefix: string): Row[] {
  windows.at(-1)!.end = Date.now();
  const rs = rows(load!.records, stopTimes(lc.node?.events ?? []), windows, phase!.changes).filter((r) => r.transition.startsWith(prefix));
  console.log(`\n${table(rs)}`);
  return rs;
}

/** Runs enable or disable under load and returns its rows. */
async function toggle(name: string, on: boolean, baseline: boolean, after: "Enabled" | "Disabled"): Promise<Row[]> {
  step(name);
  // Before the first switch-on the controller identity does not exist yet: the others set the baseline.
  if (baseline) await enoughIn(phase!.phase, ["user", "kibana", NEGATIVE]);
  await lc.setAuthentication(on);
  await settle(after);
  await enoughIn(after, [...CORRECT, NEGATIVE]);
  return closeWindow(name);
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

/** Connection errors after SIGTERM that the graceful drain should have avoided; empty = none. */
function drainViolations(transition: string): string[] {
  // Correct clients only: a refused client's dropped handshake on a stopping pod is a refusal, not a drain failure.
  return terminationErrors(load!.records.filter((r) => r.transition.startsWith(transition) && CORRECT.includes(r.identity)), stopTimes(lc.node?.events ?? []))
    .filter((e) => e.inFlight || e.sentAfterMs > ROUTING_LAG_MS)
    .map((e) => `${e.identity} → ${e.pod}: ${e.inFlight ? "in flight at SIGTERM" : `sent ${e.sentAfterMs} ms after SIGTERM`}: ${e.detail}`);
}

test("enable under load: correct clients never refused, the client without a certificate refused once Enabled", async () => {
  const rs = await toggle("enable", true, true, "Enabled");
  expect(violations(rs)).toEqual([]);
  expect(drainViolations("enable")).toEqual([]);
  // Both sides of the negative rule were exercised, not vacuously true.
  expect(rs.find((r) => r.identity === NEGATIVE && (r.phase === "absent" || r.phase === "Disabled"))?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === NEGATIVE && r.phase === "Enabled")?.counts.tls).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === "controller" && r.phase === "Enabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  // Kibana was restarted first with its agent, and presents a certificate Elasticsearch accepts.
  expect(kibana!.current).toBeTruthy();
  expect(rs.find((r) => r.identity === "kibana" && r.phase === "Enabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  // From here on, on the controller's clock and under the transitions that follow: a CA rotation and every agent's renewal.
  rotation = new RotationWatch(lc, () => internal!.current, () => kibana!.current, (CA_VALIDITY_S + 60) * 1000);
  const now = [...(await lc.pods()), ...(await kibanaPods(lc)).filter(ready)].map((p) => ({ name: p.metadata!.name!, uid: p.metadata!.uid! }));
  renewal = new RenewalWatch(lc, now, (AGENT_VALIDITY_S + 60) * 1000);
  renewalStatus0 = new Map(((await lc.status())?.pods ?? []).map((p: any) => [p.uid, p.certificateNotAfter]));
}, 200_000);

/** The rows of the requests sent within `span`, under the name of a transition that overlapped the others. */
function spanRows(name: string, span: Span): Row[] {
  const inSpan = load!.records.filter((r) => r.sentAt >= span.start && r.sentAt <= span.end).map((r) => ({ ...r, transition: name }));
  return rows(inSpan, stopTimes(lc.node?.events ?? []), [{ transition: name, ...span }], phase!.changes);
}

/** Waits until every Ready pod answered LATE with `want` since `since`; returns when. */
function everyPod(want: Outcome, since: number, what: string): Promise<number> {
  return eventually(() => {
    const seen = new Set(load!.records.filter((r) => r.identity === LATE && r.sentAt >= since && classify(r, stopTimes(lc.node?.events ?? [])) === want).map((r) => r.pod.uid));
    const missing = pods!.ready().filter((p) => !seen.has(p.uid)).map((p) => p.name);
    if (missing.length) throw new Error(`not yet from ${missing.join(", ")}`);
    return Date.now();
  }, { timeoutMs: 60_000, intervalMs: 100, what });
}

/** When every ES pod's agent reports the intent's current bundle on disk, and its hash. */
function bundleEverywhere(notHash: string | undefined): Promise<string> {
  return eventually(async () => {
    const s = await lc.status();
    if (!s?.bundleSha256 || s.bundleSha256 === notHash) throw new Error("bundle unchanged");
    const behind = (s.pods as Array<{ name: string; role: string; bundleSha256?: string }>).filter((p) => p.role === "elasticsearch" && p.bundleSha256 !== s.bundleSha256);
    if (behind.length) throw new Error(`behind: ${behind.map((p) => p.name).join(", ")}`);
    return s.bundleSha256 as string;
  }, { timeoutMs: 60_000, intervalMs: 200, what: "the new bundle on every pod" });
}

test("labelled certificate added and removed while Enabled: the others never refused; the new one accepted everywhere, then refused everywhere", async () => {
  const hash0 = (await lc.status())?.bundleSha256 as string | undefined;
  const added = step("add cert: propagating");
  lateUser = await createUserIdentity(lc, `${USER_SECRET}-late`, "late-user");
  // The bundle also changes with CA rotations meanwhile: any new hash everywhere, then "accepted by every pod".
  await bundleEverywhere(hash0);
  const onDiskAt = Date.now();
  const trusted = await everyPod("ok", added, "late-user accepted by every pod");
  step("add cert: trusted");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE, LATE]);
  const removed = step("remove cert: propagating");
  const hash1 = (await lc.status())?.bundleSha256 as string | undefined;
  await lc.core.deleteNamespacedSecret({ name: `${USER_SECRET}-late`, namespace: NS });
  await bundleEverywhere(hash1);
  const dropped = await everyPod("tls", removed, "late-user refused by every pod");
  step("remove cert: removed");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE, LATE]);
  // The agents' proofs do not show when ES re-read the bundle (they present the pod's own certificate): the new one is refused until then.
  console.log(`late-user: a new bundle on every pod's disk (status) ${((onDiskAt - added) / 1000).toFixed(1)} s, accepted by every pod ${((trusted - added) / 1000).toFixed(1)} s after its Secret was created; refused by every pod ${((dropped - removed) / 1000).toFixed(1)} s after it was deleted (ES re-reads its files every 5 s)`);
  const rs = closeWindow("add cert").concat(rows(load!.records, stopTimes(lc.node?.events ?? []), windows, phase!.changes).filter((r) => r.transition.startsWith("remove cert")));
  expect(violations(rs)).toEqual([]);
  expect(drainViolations("add cert").concat(drainViolations("remove cert"))).toEqual([]);
  expect(rs.find((r) => r.identity === LATE && r.transition === "add cert: trusted")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === LATE && r.transition === "remove cert: removed")?.counts.tls).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);

const KIBANA_SECRET = `${ES_NAME}-kibana-user-client-cert`;

/** Sets or removes the Kibana's elasticsearchRef.clientCertificateSecretName. */
async function kibanaSecretName(name: string | undefined): Promise<void> {
  await lc.custom.patchNamespacedCustomObject({
    ...KIBANA,
    namespace: NS,
    name: ES_NAME,
    body: [{ op: "replace", path: "/spec/elasticsearchRef", value: { name: ES_NAME, ...(name ? { clientCertificateSecretName: name } : {}) } }],
  });
}

test("Kibana switches from its managed identity to clientCertificateSecretName and back under load: Kibana never refused", async () => {
  // The user's own key pair, signed by their own CA, trusted by nothing else: only the pin of
  // clientCertificateSecretName makes Elasticsearch accept it (the strict case for the switch back).
  const userCa = await TestCA.create(`${ES_NAME}-kibana-user-ca`);
  const leaf = await userCa.issue({ cn: "kibana-user", client: true });
  await lc.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: KIBANA_SECRET }, type: "kubernetes.io/tls", stringData: { "tls.crt": leaf.certPem, "tls.key": leaf.key } } });
  // The Kibana pod the renewal watch started with renews first (its agent does, at 2/3 of its certificate's life); the switch would replace it before.
  await eventually(() => {
    const stale = renewal!.stale().filter((n) => n.startsWith(`${ES_NAME}-kb-`));
    if (stale.length) throw new Error(`${stale.join(", ")} not renewed yet`);
  }, { timeoutMs: AGENT_VALIDITY_S * 1000 + 30_000, intervalMs: 500, what: "the first Kibana pod's renewal" });
  step("kibana: to user cert");
  const before = kibana!.history.length;
  await kibanaSecretName(KIBANA_SECRET);
  await eventually(() => {
    if (kibana!.current?.cert !== leaf.certPem) throw new Error(`Kibana pod ${kibana!.history.at(-1)?.pod} presents another certificate`);
  }, { timeoutMs: 90_000, intervalMs: 200, what: "a Kibana pod presenting the user's certificate" });
  await settle("Enabled");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE]);
  step("kibana: back to managed");
  await kibanaSecretName(undefined);
  const managedAt = await eventually(async () => {
    const cur = kibana!.current;
    if (!cur || cur.cert === leaf.certPem || (await signedBy(cur.cert, userCa.cert))) throw new Error(`Kibana pod ${kibana!.history.at(-1)?.pod} still presents the user's certificate`);
    return Date.now();
  }, { timeoutMs: 90_000, intervalMs: 200, what: "a Kibana pod presenting a managed certificate again" });
  await settle("Enabled");
  await enoughIn("Enabled", [...CORRECT, NEGATIVE]);
  const rs = closeWindow("kibana:");
  expect(violations(rs)).toEqual([]);
  expect(drainViolations("kibana:")).toEqual([]);
  // The switch happened through Kibana restarts: a pod with the user's certificate, then one without.
  const seen = kibana!.history.slice(before);
  expect(seen.some((h) => h.cert?.cert === leaf.certPem)).toBe(true);
  expect(seen.findLast((h) => h.at <= managedAt)?.cert?.cert).not.toBe(leaf.certPem);
  for (const t of ["kibana: to user cert", "kibana: back to managed"]) expect(rs.find((r) => r.transition === t && r.identity === "kibana" && r.phase === "Enabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 250_000);

test("leaf renewal of every agent under load (alongside the transitions above): every pod's certificate replaced, nobody refused", async () => {
  await renewal!.done;
  const rs = spanRows("leaf renewal (concurrent)", renewal!.span);
  console.log(`\n${table(rs)}\nleaf renewal: every agent renewed within ${((renewal!.span.end - renewal!.span.start) / 1000).toFixed(1)} s`);
  expect(violations(rs)).toEqual([]);
  expect(renewal!.pods.every((p) => p.serial)).toBe(true);
  expect(renewal!.stale()).toEqual([]);
  // The ES pods lived through it: their status entries show the new certificate. The status follows
  // the agents' reports by a reconcile, so it is polled, not read once.
  const esUids = (await lc.pods()).map((p) => p.metadata!.uid!).filter((u) => renewal!.pods.some((p) => p.uid === u));
  expect(esUids.length).toBe(REPLICAS);
  await eventually(async () => {
    const now = new Map<string, string>(((await lc.status())?.pods ?? []).map((p: any) => [p.uid, p.certificateNotAfter]));
    expect(esUids.filter((u) => !now.get(u) || now.get(u) === renewalStatus0?.get(u))).toEqual([]);
  }, { timeoutMs: 30_000, intervalMs: 250, what: "every ES pod's renewed certificate in the status" });
  for (const who of CORRECT) expect(rs.find((r) => r.identity === who)?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);

test("client CA rotation under load (alongside the transitions above): the new CA trusted everywhere before the load presents its leaves, the old one dropped once nobody presents it; nobody refused", async () => {
  await rotation!.done;
  const rs = spanRows("CA rotation (concurrent)", rotation!.span);
  const r = rotation!;
  const at = (t: number) => `${((t - r.span.start) / 1000).toFixed(1)} s`;
  console.log(`\n${table(rs)}\nCA rotation: every ES pod trusted both CAs at ${at(r.overlapAt)}, the new CA signed the controller's identity at ${at(r.newSigningAt)}, the old CA was gone from every pod at ${at(r.span.end)}`);
  expect(violations(rs)).toEqual([]);
  expect(r.newCa && r.old && !sameCert(r.newCa, r.old)).toBe(true);
  expect(r.overlapAt).toBeGreaterThan(0);
  expect(r.overlapAt).toBeLessThanOrEqual(r.newSigningAt);
  for (const who of CORRECT) expect(rs.find((x) => x.identity === who)?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);

test("disable under load: correct clients never refused, the client without a certificate accepted once Disabled", async () => {
  const rs = await toggle("disable", false, false, "Disabled");
  expect(violations(rs)).toEqual([]);
  expect(drainViolations("disable")).toEqual([]);
  // Refused or accepted per pod, never both: refusals come from pods that require, not from flakes.
  expect(mixedPods(load!.records, NEGATIVE, stopTimes(lc.node?.events ?? []))).toEqual([]);
  expect(rs.find((r) => r.identity === NEGATIVE && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
  expect(rs.find((r) => r.identity === "user" && r.phase === "Disabled")?.counts.ok).toBeGreaterThanOrEqual(ENOUGH);
}, 200_000);
