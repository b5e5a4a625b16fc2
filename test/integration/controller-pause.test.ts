// Issue 13 item 9: a leader that is paused (SIGSTOP: a frozen node, a long GC or VM pause)
// past its lease must never act as leader at the same time as the standby that takes over.
// The standby takes over only a full lease duration after it last saw the lease change
// (its own clock); the leader's claim ends at its renew deadline (2/3 of the lease), so the
// two intervals cannot meet. Witnesses: the Lease writes in the audit log and each
// process's own log of when its leadership began and ended.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import type { AuditEvent, ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import { DEFAULT_QUEUE_CONCURRENCY } from "../../controller/reconcile/queue.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { startHaControllers, type HaControllers } from "../support/ha-controllers.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { createClientCertSecret } from "../support/client-cert-secret.ts";

const ns = "pause";
const LEASE_MS = 6000; // --lease-duration=6s in ControllerProcess; renew deadline 4 s
let ha: HaControllers;
let cp: ControlPlane;
let replicas: ControllerProcess[];
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

beforeAll(async () => {
  ha = await startHaControllers(ns);
  ({ cp, replicas, core, custom } = ha);
}, 900_000);

afterAll(async () => {
  await ha?.stop();
});

const holder = () => ha.holder();

/** Audit timestamps carry microseconds; milliseconds are enough here. */
const ms = (ts: string) => Date.parse(ts.replace(/(\.\d{3})\d*Z$/, "$1Z"));
const ok = (e: AuditEvent) => e.stage === "ResponseComplete" && (e.responseStatus?.code ?? 0) < 300;
const byReplica = (e: AuditEvent, r: ControllerProcess) => e.user.username === `es-mtls-${r.name}`;

/** When a replica's leadership began and ended, by its own log. */
function leadership(r: ControllerProcess): { from?: number; until?: number; why?: string } {
  const logs = r.jsonLogs();
  const became = logs.find((l) => l.msg === "became leader");
  const ended = logs.find((l) => l.msg === "stopped leading" || l.msg === "lost leadership");
  return {
    ...(became ? { from: Date.parse(became.ts) } : {}),
    // A replica that says until when it could have acted as leader is taken at its word;
    // otherwise its leadership lasted until it logged the end.
    ...(ended ? { until: Date.parse(ended.leaderUntil ?? ended.ts), why: ended.why } : {}),
  };
}

test("a leader paused (SIGSTOP) past its lease stops leading at its renew deadline, before the standby takes over; resumed, it never acts as leader again", async () => {
  const leaderName = await eventually(async () => {
    const h = await holder();
    expect(h).toBeDefined();
    return h!;
  }, { timeoutMs: 15_000, what: "a leader" });
  const leader = replicas.find((r) => r.name === leaderName)!;
  const standby = replicas.find((r) => r.name !== leaderName)!;

  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "paused" }, spec: { http: { tls: { client: { authentication: true } } } } },
  });
  await eventually(() => core.readNamespacedSecret({ name: "paused-es-internal-client-cert", namespace: ns }), { timeoutMs: 15_000, what: "the leader reconciles" });

  leader.pause();
  const pausedAt = Date.now();
  await eventually(async () => expect(await holder()).toBe(standby.name), { timeoutMs: 20_000, intervalMs: 200, what: "the standby holds the lease" });
  console.error(`standby took the lease ${Date.now() - pausedAt} ms after the leader was paused`);

  // The new leader works while the old one is frozen: a new client certificate reaches the bundle.
  const kb: any = await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "paused" } } } });
  const leaf = await (await TestCA.create("clients")).issue({ cn: "while-paused", client: true });
  await createClientCertSecret(core, { namespace: ns, name: "while-paused", es: "paused", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: leaf.certPem });
  await eventually(async () => {
    const b = atob((await core.readNamespacedSecret({ name: "paused-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!);
    expect(b).toContain(leaf.certPem.split("\n")[1]!);
  }, { timeoutMs: 15_000, what: "the new leader updates the bundle" });

  const resumedAt = Date.now();
  leader.resume();
  // Resumed, the old leader sees its renew deadline long gone and gives up (main exits).
  await eventually(() => expect(leader.child.exitCode ?? leader.child.signalCode).not.toBeNull(), { timeoutMs: 15_000, what: "the old leader exits" });

  const old = leadership(leader);
  const current = leadership(standby);
  expect(old.from).toBeDefined();
  expect(current.from).toBeDefined();
  expect(old.until).toBeDefined();
  // Its leadership ended while it was frozen, before the standby began: no overlap.
  expect(old.until!).toBeLessThan(current.from!);
  expect(old.until!).toBeLessThan(resumedAt);
  expect(old.why).toMatch(/renew deadline/);

  const leaseWrites = cp.auditEvents().filter((e) => ok(e) && e.objectRef?.resource === "leases" && e.objectRef?.name === "es-mtls-controller");
  const acquired = leaseWrites.find((e) => byReplica(e, standby))!;
  const lastRenew = leaseWrites.filter((e) => byReplica(e, leader)).at(-1)!;
  // The standby waited a whole lease duration after the last renew it could have seen.
  expect(ms(acquired.requestReceivedTimestamp) - ms(lastRenew.requestReceivedTimestamp)).toBeGreaterThanOrEqual(LEASE_MS);
  expect(old.until!).toBeLessThan(ms(acquired.requestReceivedTimestamp));
  // After its deadline the old leader starts no write (kube/writer.ts and kube/events.ts check the
  // fence before each). A request already on its way when the process froze reaches the apiserver on
  // resume, and no client can recall it (client-go's leader election has the same window): so a late
  // write may only be one of those, arriving right after the resume, at most one per reconcile worker,
  // and never the Lease.
  const late = cp.auditEvents().filter((e) => ok(e) && byReplica(e, leader) && ms(e.requestReceivedTimestamp) >= old.until!);
  const what = (e: AuditEvent) => `${e.verb} ${e.objectRef?.resource}/${e.objectRef?.name} at ${e.requestReceivedTimestamp}`;
  expect(late.filter((e) => e.objectRef?.resource === "leases").map(what)).toEqual([]);
  expect(late.filter((e) => ms(e.requestReceivedTimestamp) > resumedAt + 2000).map(what)).toEqual([]);
  expect(late.length).toBeLessThanOrEqual(DEFAULT_QUEUE_CONCURRENCY);
  // And the standby is still the leader.
  expect(await holder()).toBe(standby.name);
});
