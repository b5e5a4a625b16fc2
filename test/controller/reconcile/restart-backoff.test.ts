// The restart step on fakes: pods a restart would not inject are never evicted and are reported
// once; a refused eviction (PDB 429) is retried per pod with growing delays, not every round.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { REFUSED_EVICTION_BACKOFF, Restarts, RESTART_BACKOFF } from "../../../controller/reconcile/restart.ts";
import type { PodView } from "../../../controller/reconcile/view.ts";
import type { Elasticsearch } from "../../../controller/resources.ts";
import { INJECT_LABEL } from "../../../controller/names.ts";
import { notInjectable } from "../../../controller/policy/uninjected.ts";
import { gatedEsPods } from "../../../controller/reconcile/not-injectable.ts";
import { gatePhase } from "../../../controller/gate/transition.ts";

const es: Elasticsearch = { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "q", namespace: "prod", uid: "es-uid" }, spec: {} } as Elasticsearch;
const esLabels = { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "q" };
function esPod(name: string, o: { labels?: Record<string, string>; owner?: string | null; mounts?: string[] } = {}): PodView {
  const owner = o.owner === null ? [] : [{ apiVersion: "apps/v1", kind: o.owner ?? "StatefulSet", name: "q-es-default", uid: "sts-uid", controller: true }];
  const pod: V1Pod = {
    metadata: { name, namespace: "prod", uid: `uid-${name}`, labels: { ...esLabels, ...o.labels }, ownerReferences: owner },
    spec: { containers: [{ name: "elasticsearch", volumeMounts: (o.mounts ?? []).map((m, i) => ({ name: `v${i}`, mountPath: m })) }] },
  };
  return { pod, role: "elasticsearch" };
}

function harness() {
  let now = Date.parse("2026-11-28T00:00:00Z");
  const clock = { now: () => now, random: () => 1 };
  const evictions: string[] = [];
  const events: string[] = [];
  let refuse = false;
  const d = {
    writer: { evict: async (_ns: string, name: string) => (evictions.push(name), !refuse) } as any,
    events: { record: async (_t: unknown, _type: string, reason: string, message: string) => (events.push(`${reason}: ${message}`), true) },
  };
  const restarts = new Restarts(clock);
  const round = async (pods: PodView[], phase: "Enabling" | "Enabled" = "Enabling") => {
    const plan = restarts.plan("prod/q", phase, phase, pods, { reports: { get: () => undefined, seed: () => {} }, proven: () => false, bundleEverywhere: true });
    await restarts.carryOut("prod/q", es, plan.step, pods, d);
    return plan;
  };
  return { round, evictions, events, advance: (ms: number) => (now += ms), refuse: (v: boolean) => (refuse = v) };
}

describe("pods a restart would not inject", () => {
  test("the causes: opt-out label, the agent's path already mounted, no StatefulSet/ReplicaSet", () => {
    expect(notInjectable(esPod("a", { labels: { [INJECT_LABEL]: "false" } }).pod)).toBe("OptedOut");
    expect(notInjectable(esPod("b", { mounts: ["/usr/share/elasticsearch/config/client-trust-bundle/"] }).pod)).toBe("PathMounted");
    expect(notInjectable(esPod("c", { owner: null }).pod)).toBe("NoController");
    expect(notInjectable(esPod("d", { owner: "Job" }).pod)).toBe("NoController");
    expect(notInjectable(esPod("e").pod)).toBeUndefined();
  });

  test("an opted-out Elasticsearch pod during Enabling: zero evictions across many rounds, one Event, named in PodsInjectable", async () => {
    const h = harness();
    const pods = [esPod("q-es-default-0", { labels: { [INJECT_LABEL]: "false" } }), esPod("q-es-default-1", { mounts: ["/usr/share/elasticsearch/config/client-trust-bundle"] })];
    let last;
    for (let i = 0; i < 50; i++) {
      last = await h.round(pods);
      h.advance(5000);
    }
    expect(h.evictions).toEqual([]);
    expect(last!.conditions.find((c) => c.type === "PodsUpToDate")!.status).toBe("True");
    const c = last!.conditions.find((c) => c.type === "PodsInjectable")!;
    expect([c.status, c.reason]).toEqual(["False", "PodsNotInjectable"]);
    expect(c.message).toContain("q-es-default-0");
    expect(c.message).toContain("q-es-default-1");
    expect(c.message).toContain("cannot become Enabled");
    // One Event per cause, each recorded every round here (the fake does not deduplicate), same message.
    expect(new Set(h.events).size).toBe(2);
    expect(h.events.every((e) => e.startsWith("PodsNotInjectable: 1 pod(s)"))).toBe(true);
  });

  test("it does not hold back the others: a restartable pod next to it is evicted", async () => {
    const h = harness();
    await h.round([esPod("q-es-default-0", { labels: { [INJECT_LABEL]: "false" } }), esPod("q-es-default-1")]);
    expect(h.evictions).toEqual(["q-es-default-1"]);
  });
});

describe("evictions bounded with backoff per pod", () => {
  test("a refused (429) eviction is retried with growing delays capped at 30 s, and the condition says when and why", async () => {
    const h = harness();
    h.refuse(true);
    const pods = [esPod("q-es-default-0")];
    const at: number[] = [];
    let t = 0;
    let last;
    // 30 minutes of 1-second rounds.
    for (; t < 30 * 60_000; t += 1000) {
      const before = h.evictions.length;
      last = await h.round(pods);
      if (h.evictions.length > before) at.push(t);
      h.advance(1000);
    }
    const gaps = at.slice(1).map((x, i) => x - at[i]!);
    expect(gaps.length).toBeGreaterThan(3);
    expect(gaps.length).toBeLessThan(30 * 60_000 / (REFUSED_EVICTION_BACKOFF.maxMs / 2)); // not one per round (1,800 rounds)
    for (let i = 1; i < gaps.length; i++) expect(gaps[i]!).toBeGreaterThanOrEqual(gaps[i - 1]!);
    expect(gaps[0]!).toBeGreaterThanOrEqual(REFUSED_EVICTION_BACKOFF.minMs);
    expect(gaps.at(-1)!).toBeGreaterThan(gaps[0]!);
    // The budget frees by itself (a stale disruptedPods entry lasts 2 min): never more than 30 s until the next try.
    expect(Math.max(...gaps)).toBeLessThanOrEqual(REFUSED_EVICTION_BACKOFF.maxMs + 1000);
    const c = last!.conditions.find((c) => c.type === "PodsUpToDate")!;
    expect(c.reason).toBe("DisruptionBudgetBlocks");
    expect(c.message).toMatch(/pod q-es-default-0 must restart .*next attempt at 2026-11-28T\d\d:\d\d:\d\d/);
    expect(last!.requeueMs!).toBeLessThanOrEqual(5000);
  });

  test("once the budget allows it, the pod is evicted at its next attempt", async () => {
    const h = harness();
    h.refuse(true);
    await h.round([esPod("q-es-default-0")]);
    h.refuse(false);
    h.advance(1000);
    await h.round([esPod("q-es-default-0")]);
    expect(h.evictions.length).toBe(1); // still backing off
    h.advance(RESTART_BACKOFF.minMs);
    await h.round([esPod("q-es-default-0")]);
    expect(h.evictions.length).toBe(2);
  });
});

describe("how pods a restart would not inject count for the phase gate", () => {
  const optedOut = esPod("q-es-default-1", { labels: { [INJECT_LABEL]: "false" } });
  const proven = esPod("q-es-default-0");
  const gate = (phase: "Enabling" | "Disabling", enforcement: "required" | "none") =>
    gatePhase(phase, gatedEsPods([proven, optedOut], phase).map((p) => ({ proven: p === proven, enforcement })));
  test("Enabling: an opted-out Elasticsearch pod can never prove required, so the cluster stays Enabling", () => {
    expect(gate("Enabling", "required")).toBe("Enabling");
  });
  test("Disabling: it never had es-mtls's settings and does not hold up Disabled", () => {
    expect(gate("Disabling", "none")).toBe("Disabled");
  });
});
