// Restart-safety and the health gate on the self-running cluster (issue 10 item 3 and its second
// "done when"): the controller, killed with SIGKILL at every phase boundary of enable and disable
// and right after each Elasticsearch eviction, and started again with the same flags, converges to
// Enabled / Disabled, never evicts an Elasticsearch pod while the one evicted before has not come
// back proving the new state, and cleans up only after every pod proved `none`. The enable starts
// with a node missing: the stand-ins' /_cluster/health is yellow, and the controller (health gate on,
// its default; restarted at the Disabled → Enabling boundary) evicts nothing until it is green again.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { Lifecycle, MTLS_SECRETS, NS, REPLICAS, STS } from "./lifecycle/cluster.ts";
import { evictionOverlap, evictions, requestsPerPod, settle, waitWhole } from "./lifecycle/observe.ts";
import { cleanups, currentProofs, evictionsWhileUnproven, killAtBoundaries } from "./lifecycle/kills.ts";
import { CLIENT_AUTH_REQUIRED_ANNOTATION } from "../../controller/names.ts";
import { eventually } from "../support/eventually.ts";
import { info } from "./lifecycle/observe.ts";

let lc: Lifecycle;
const verbose = process.env.ES_MTLS_TEST_VERBOSE ? (l: string) => console.error(l) : () => {};
const controllerTail = () => lc.controller?.logs.slice(-15).join("\n") ?? "";
const withTail = (e: unknown) => {
  throw new Error(`${(e as Error).message}\ncontroller:\n${controllerTail()}`);
};

beforeAll(async () => {
  lc = await Lifecycle.start(verbose);
  await waitWhole(lc, 60_000, "3 Ready pods");
}, 150_000);

afterAll(async () => {
  await lc?.stop();
});

/** The stand-ins' own answer to GET /_cluster/health, asked of the first Ready pod. */
async function health(): Promise<string> {
  for (const p of await lc.pods()) {
    if (!p.status?.podIP || p.metadata?.deletionTimestamp) continue;
    const { Client, HttpConnection } = await import("@elastic/elasticsearch");
    const es = new Client({ node: `https://${p.status.podIP}:9200`, Connection: HttpConnection, tls: { ca: lc.httpCaPem, checkServerIdentity: () => undefined }, auth: { username: "elastic", password: "elastic-pw" }, maxRetries: 0, requestTimeout: 5000 });
    try {
      return (await es.cluster.health()).status;
    } catch {
      continue;
    } finally {
      await es.close();
    }
  }
  return "unreachable";
}

/** The controller's count of reconciles of the cluster (its /metrics). */
async function reconciles(): Promise<number> {
  const text = await (await lc.controller!.health("/metrics")).text();
  const line = text.split("\n").find((l) => l.startsWith("es_mtls_controller_reconciles_total{") && l.includes(`cluster="${NS}/quickstart"`));
  return Number(line?.split(" ").pop() ?? 0);
}

async function scale(replicas: number): Promise<void> {
  await lc.apps.patchNamespacedStatefulSetScale({ name: STS, namespace: NS, body: [{ op: "replace", path: "/spec/replicas", value: replicas }] });
}

test("kill -9 at every phase boundary and after each eviction while enabling, from a yellow cluster: nothing evicted until green (the hold survives a restart), then Enabled 3/3, one eviction at a time, nothing cleaned up", async () => {
  await scale(REPLICAS - 1);
  await eventually(async () => {
    const h = await health();
    if (h !== "yellow" || (await lc.pods()).length !== REPLICAS - 1) throw new Error(`health ${h}`);
  }, { timeoutMs: 60_000, intervalMs: 250, what: "a yellow cluster of 2" });
  const since = Date.now();
  const first = lc.controller;
  const killer = killAtBoundaries(lc, verbose);
  try {
    await lc.setAuthentication(true);
    // The first kill comes at Disabled → Enabling; the controller started after it must hold as well.
    await eventually(() => expect(killer.kills.length).toBeGreaterThanOrEqual(1), { timeoutMs: 60_000, what: "the kill at Disabled → Enabling" });
    const held = await eventually(async () => {
      if (lc.controller === first) throw new Error("the controller is not restarted yet");
      const c = (await lc.status())?.conditions?.find((x: any) => x.type === "PodsUpToDate");
      if (c?.reason !== "ClusterNotGreen") throw new Error(`PodsUpToDate ${c?.reason}: ${c?.message}`);
      // Several reconciles of the restarted controller (its counter starts at 0; the killed one
      // answers nothing), the health re-read with backoff, and still nothing evicted.
      if ((await reconciles()) < 3) throw new Error("fewer than 3 reconciles since the restart");
      return c;
    }, { timeoutMs: 90_000, intervalMs: 500, what: "the eviction held for health by the restarted controller" }).catch(withTail);
    expect(held.message).toContain("cluster health is yellow");
    expect(held.message).toMatch(/pod quickstart-es-default-\d must restart to require client certificates/);
    expect(await health()).toBe("yellow");
    expect(evictions(lc.cp.auditEvents(), since)).toEqual([]);
    const events = (await lc.core.listNamespacedEvent({ namespace: NS })).items.filter((e) => e.reason === "RestartWaitingForHealth");
    expect(events.length).toBeGreaterThanOrEqual(1);
    expect(events[0]!.message).toContain("waiting for the cluster to be green: cluster health is yellow");

    const greenFrom = Date.now();
    await scale(REPLICAS);
    const status = await settle(lc, "Enabled", 150_000).catch(withTail);
    await killer.stop();
    const whys = killer.kills.map((k) => k.why);
    // A cluster that never had client authentication has no status yet: "undefined → Enabling".
    expect(whys.some((w) => w.includes("→ Enabling"))).toBe(true);
    expect(whys.join(" + ").split("eviction of").length - 1).toBeGreaterThanOrEqual(REPLICAS - 1);
    verbose(`enable: ${killer.kills.length} kills: ${whys.join("; ")}`);
    expect(status.enforcement).toBe("required");
    // Every eviction came after the cluster was made whole again, none while it was yellow.
    const done = evictions(lc.cp.auditEvents(), since);
    expect(done.length).toBeGreaterThanOrEqual(REPLICAS - 1);
    for (const e of done) expect(Date.parse(e.requestReceivedTimestamp)).toBeGreaterThan(greenFrom);
    // The proofs as the controller holds them (ClientAuthentication status), for every pod.
    expect(status.pods).toHaveLength(REPLICAS);
    for (const p of status.pods) expect(p).toMatchObject({ injected: true, withoutCertificate: "refused", withCertificate: "accepted" });

    const audit = lc.cp.auditEvents();
    expect(evictionOverlap(audit, since).maxOpen).toBe(1);
    expect(evictionsWhileUnproven(lc, audit, since, "required")).toEqual([]);
    expect(cleanups(audit, since).filter((c) => c.what.startsWith("delete"))).toEqual([]);
    for (const [pod, at] of await currentProofs(lc, "required")) expect({ pod, proved: at !== undefined }).toEqual({ pod, proved: true });
    expect((await lc.elasticsearch()).metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION]).toBe("true");
    // Refused without a certificate, accepted with the controller's own.
    const internal = await lc.secret(MTLS_SECRETS[0]!);
    for (const p of await lc.pods()) {
      expect(await info(p.status!.podIP!, lc.httpCaPem)).toStartWith("ConnectionError");
      expect(await info(p.status!.podIP!, lc.httpCaPem, { cert: internal!["tls.crt"]!, key: internal!["tls.key"]! })).toBe("ok");
    }
  } finally {
    await killer.stop();
  }
}, 300_000);

test("kill -9 at every phase boundary and after each eviction while disabling: Disabled, one eviction at a time, clean-up only after every pod proved `none`", async () => {
  const since = Date.now();
  const killer = killAtBoundaries(lc, verbose);
  await lc.setAuthentication(false);
  // The kill at Enabled → Disabling often lands while the first eviction is in flight: kube-apiserver
  // has then debited the budget (`disruptedPods`) but its pod delete sees the request cancelled, so the
  // budget refuses every eviction until Kubernetes drops the entry 2 min later (DeletionTimeout);
  // the controller's next try comes at most 30 s after that (REFUSED_EVICTION_BACKOFF).
  await settle(lc, "Disabled", 270_000).catch(withTail).finally(() => killer.stop());
  const whys = killer.kills.map((k) => k.why);
  expect(whys.some((w) => w.includes("phase Enabled → Disabling"))).toBe(true);
  expect(whys.join(" + ").split("eviction of").length - 1).toBeGreaterThanOrEqual(REPLICAS);
  verbose(`disable: ${killer.kills.length} kills: ${whys.join("; ")}`);

  const audit = lc.cp.auditEvents();
  expect(evictionOverlap(audit, since).maxOpen).toBe(1);
  expect(evictionsWhileUnproven(lc, audit, since, "none")).toEqual([]);
  // Clean-up (annotation removed, Secrets deleted) only after every pod serving now proved `none`.
  const cleaned = cleanups(audit, since);
  expect(cleaned.map((c) => c.what).filter((w) => w.startsWith("delete")).sort()).toEqual(MTLS_SECRETS.map((n) => `delete Secret ${n}`).sort());
  const proofs = await currentProofs(lc, "none");
  for (const [pod, at] of proofs) {
    expect({ pod, proved: at !== undefined }).toEqual({ pod, proved: true });
    expect(at!).toBeLessThanOrEqual(cleaned[0]!.at);
  }
  expect((await lc.elasticsearch()).metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION]).toBeUndefined();
  for (const name of MTLS_SECRETS) expect(await lc.secret(name)).toBeUndefined();
  expect(Object.values(await requestsPerPod(lc))).toEqual(Array(REPLICAS).fill("ok"));
}, 330_000);
