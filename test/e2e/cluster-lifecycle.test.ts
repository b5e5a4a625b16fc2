// The whole system as a cluster runs it (issue 13 item 1, issue 10 items 3–5): kube-controller-
// manager's StatefulSet re-creates the pods the controller evicts, the controller's webhook injects
// the agent into them, the test node runs the agent from its image (where podman is present; else
// the shipped binary, and the test names say which) next to the Elasticsearch stand-in, and the agents' proofs drive the phase. Switching on and off must roll one pod at a
// time, end with every pod serving, and clean up only after the last pod proved it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { agentSource, agentSourceName, Lifecycle, MTLS_SECRETS, NS, REPLICAS } from "./lifecycle/cluster.ts";
import { evictionOverlap, evictions, notWhole, proofTimes, requestsPerPod, secretDeletes, settle } from "./lifecycle/observe.ts";
import { CLIENT_AUTH_REQUIRED_ANNOTATION } from "../../controller/names.ts";
import { eventually } from "../support/eventually.ts";

let lc: Lifecycle;
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
// Before the tests are named: the image is found (or built, a first run: minutes) here.
const agent = agentSource((l) => console.error(`[images] ${l}`));
const which = agentSourceName(agent);

beforeAll(async () => {
  lc = await Lifecycle.start(verbose, { agent });
  // Before anything is switched on: the plain StatefulSet is Ready and serves without a certificate.
  await settleWhole();
}, 150_000);

afterAll(async () => {
  await lc?.stop();
});

async function settleWhole() {
  await eventually(async () => {
    const problems = notWhole(await lc.pods());
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs: 60_000, intervalMs: 500, what: "3 Ready pods" });
}

/** Last lines of the controller's log, for a failure message. */
const controllerTail = () => lc.controller?.logs.slice(-15).join("\n") ?? "";

test(`${which}: enable: pods rolled one at a time through the Eviction API and re-injected, Enabled 3/3; no certificate refused, the controller's own accepted`, async () => {
  const before = (await lc.pods()).map((p) => p.metadata!.uid!);
  expect(Object.values(await requestsPerPod(lc))).toEqual(Array(REPLICAS).fill("ok"));
  const since = Date.now();
  await lc.setAuthentication(true);
  const status = await settle(lc, "Enabled", 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
  expect(status.enforcement).toBe("required");
  expect(status.pods).toHaveLength(REPLICAS);
  for (const p of status.pods) expect(p).toMatchObject({ injected: true, withoutCertificate: "refused", withCertificate: "accepted" });
  const pods = await lc.pods();
  // Every pod is a new one, re-created by the StatefulSet controller and injected by the webhook.
  for (const p of pods) {
    expect(before).not.toContain(p.metadata!.uid!);
    expect(p.metadata?.annotations?.["mtls.es-mtls.io/injected"]).toBeDefined();
  }
  const audit = lc.cp.auditEvents();
  const overlap = evictionOverlap(audit, since);
  expect(overlap.count).toBeGreaterThanOrEqual(REPLICAS);
  expect(overlap.maxOpen).toBe(1); // never two ES pods evicted and not yet re-created
  expect(overlap.open).toEqual([]);
  for (const e of evictions(audit, since)) expect(e.user.username).toBe("es-mtls-controller");
  expect((await lc.elasticsearch()).metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION]).toBe("true");
  // Pods that existed before the switch are the rollout's to restart, not pods the webhook missed:
  // no PodsNotInjected Warning for them (status.activeSince bounds what counts).
  const misleading = (await lc.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === "PodsNotInjected");
  expect(misleading.map((e) => e.message)).toEqual([]);

  const internal = await lc.secret(MTLS_SECRETS[0]!);
  expect(internal?.["tls.crt"]).toContain("BEGIN CERTIFICATE");
  // Refused at the TLS layer (handshake or first read), not by HTTP authentication (a 401 is a ResponseError).
  for (const [pod, answer] of Object.entries(await requestsPerPod(lc))) expect(`${pod}: ${answer}`).toStartWith(`${pod}: ConnectionError`);
  const withCert = await requestsPerPod(lc, { cert: internal!["tls.crt"]!, key: internal!["tls.key"]! });
  expect(Object.values(withCert)).toEqual(Array(REPLICAS).fill("ok"));
}, 150_000);

test(`${which}: disable: Disabled, every pod Ready and serving without a certificate, annotation and Secrets gone only after the last pod proved \`none\`, no pod stranded`, async () => {
  const since = Date.now();
  await lc.setAuthentication(false);
  const status = await settle(lc, "Disabled", 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
  expect(status.enforcement).toBe("none");
  // The issue-13 check: every pod there, every container (the agent included) ready.
  const pods = await lc.pods();
  expect(notWhole(pods)).toEqual([]);
  expect(Object.values(await requestsPerPod(lc))).toEqual(Array(REPLICAS).fill("ok"));
  expect((await lc.elasticsearch()).metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION]).toBeUndefined();
  for (const name of MTLS_SECRETS) expect(await lc.secret(name)).toBeUndefined();

  const audit = lc.cp.auditEvents();
  const overlap = evictionOverlap(audit, since);
  expect(overlap.count).toBeGreaterThanOrEqual(REPLICAS);
  expect(overlap.maxOpen).toBe(1);
  expect(overlap.open).toEqual([]);
  // Clean-up came after the proofs: each pod serving now (they are the pods the StatefulSet wants)
  // had its agent log a successful `none` proof before the first Secret delete.
  const deletes = secretDeletes(audit, MTLS_SECRETS, since);
  expect([...deletes.keys()].sort()).toEqual([...MTLS_SECRETS].sort());
  for (const d of deletes.values()) expect(d.user).toBe("es-mtls-controller");
  const firstDelete = Math.min(...[...deletes.values()].map((d) => d.at));
  const proofs = proofTimes(lc.agents, pods.map((p) => p.metadata!.uid!), "none");
  for (const [uid, at] of proofs) {
    expect({ uid, proved: at !== undefined }).toEqual({ uid, proved: true });
    expect(at!).toBeLessThanOrEqual(firstDelete);
  }
  // The last eviction happened before the clean-up, and no pod was created after it.
  const lastEviction = Math.max(...evictions(audit, since).map((e) => Date.parse(e.requestReceivedTimestamp)));
  expect(lastEviction).toBeLessThan(firstDelete);
  for (const p of pods) expect(Date.parse(String(p.metadata!.creationTimestamp))).toBeLessThanOrEqual(firstDelete);
}, 150_000);

test(`${which}: quick on/off: disabled again while Enabling, right after the first restart → Disabled, no pod stranded, nothing left behind`, async () => {
  const since = Date.now();
  await lc.setAuthentication(true);
  await eventually(async () => {
    const s = await lc.status();
    if (s?.phase !== "Enabling" || evictions(lc.cp.auditEvents(), since).length < 1) throw new Error(`phase ${s?.phase}`);
  }, { timeoutMs: 60_000, intervalMs: 100, what: "Enabling with one pod restarted" });
  await lc.setAuthentication(false);
  await settle(lc, "Disabled", 120_000).catch((e) => {
    throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
  });
  expect(notWhole(await lc.pods())).toEqual([]);
  expect(Object.values(await requestsPerPod(lc))).toEqual(Array(REPLICAS).fill("ok"));
  for (const name of MTLS_SECRETS) expect(await lc.secret(name)).toBeUndefined();
  expect(evictionOverlap(lc.cp.auditEvents(), since).maxOpen).toBe(1);
}, 150_000);
