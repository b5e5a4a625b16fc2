// The restart step's health gate on fakes: an Elasticsearch pod is evicted only while the
// cluster's own `/_cluster/health` says green; yellow, red or no answer hold the eviction with the
// reason in PodsUpToDate and an Event, re-read with growing delays; Kibana is not gated on it.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { Restarts, HEALTH_BACKOFF } from "../../../controller/reconcile/restart.ts";
import type { PodView } from "../../../controller/reconcile/view.ts";
import type { Elasticsearch } from "../../../controller/resources.ts";
import type { ClusterHealthReader } from "../../../controller/kube/es-health.ts";
import type { HealthAnswer } from "../../../controller/gate/cluster-health.ts";
import { healthTargets } from "../../../controller/kube/es-health.ts";

const es: Elasticsearch = { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "q", namespace: "prod", uid: "es-uid" }, spec: {} } as Elasticsearch;

function pod(name: string, role: "elasticsearch" | "kibana", ip = "10.0.0.1"): PodView {
  const owner = role === "kibana" ? { apiVersion: "apps/v1", kind: "ReplicaSet", name: "kb-rs", uid: "rs-uid", controller: true } : { apiVersion: "apps/v1", kind: "StatefulSet", name: "q-es-default", uid: "sts-uid", controller: true };
  const p: V1Pod = {
    metadata: { name, namespace: "prod", uid: `uid-${name}`, labels: { "common.k8s.elastic.co/type": role }, ownerReferences: [owner] },
    spec: { containers: [{ name: role }] },
    status: { podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
  };
  return { pod: p, role };
}

function harness(answers: HealthAnswer[]) {
  let now = Date.parse("2026-11-28T00:00:00Z");
  const evictions: string[] = [];
  const events: string[] = [];
  const asked: string[][] = [];
  const clusterHealth: ClusterHealthReader = async (cluster, pods) => {
    expect(cluster).toEqual({ namespace: "prod", name: "q", uid: "es-uid" });
    asked.push(pods.map((p) => p.metadata!.name!));
    return answers.length > 1 ? answers.shift()! : answers[0]!;
  };
  const d = {
    writer: { evict: async (_ns: string, name: string) => (evictions.push(name), true) } as any,
    events: { record: async (_t: unknown, type: string, reason: string, message: string) => (events.push(`${type} ${reason}: ${message}`), true) },
    clusterHealth,
  };
  const restarts = new Restarts({ now: () => now, random: () => 1 });
  const round = async (pods: PodView[]) => {
    const planned = restarts.plan("prod/q", "Enabling", "Enabling", pods, { reports: { get: () => undefined, seed: () => {} }, proven: () => false, bundleEverywhere: true });
    const plan = await restarts.holdUnlessGreen("prod/q", es, planned, pods, d);
    await restarts.carryOut("prod/q", es, plan.step, pods, d);
    return plan;
  };
  return { round, evictions, events, asked, advance: (ms: number) => (now += ms) };
}

const upToDate = (plan: { conditions: Array<{ type: string; status: string; reason: string; message: string }> }) => plan.conditions.find((c) => c.type === "PodsUpToDate")!;

describe("restarts gated on the cluster's health", () => {
  test("yellow holds the next Elasticsearch eviction, with the reason in PodsUpToDate and one Event; green lets it through", async () => {
    const h = harness([{ status: "yellow", pod: "q-es-default-1" }, { status: "yellow", pod: "q-es-default-1" }, { status: "yellow", pod: "q-es-default-1" }, { status: "green", pod: "q-es-default-1" }]);
    const pods = [pod("q-es-default-0", "elasticsearch"), pod("q-es-default-1", "elasticsearch")];
    const delays: number[] = [];
    for (let i = 0; i < 3; i++) {
      const plan = await h.round(pods);
      expect(h.evictions).toEqual([]);
      expect("wait" in plan.step).toBe(true);
      expect(upToDate(plan)).toMatchObject({ status: "False", reason: "ClusterNotGreen" });
      expect(upToDate(plan).message).toContain("cluster health is yellow (answered by pod q-es-default-1), not green");
      expect(upToDate(plan).message).toContain("pod q-es-default-0 must restart");
      expect(plan.pending).toBeUndefined(); // nothing evicted: nothing to persist as pending
      delays.push(plan.requeueMs!);
      // Other triggers (a pod update, an agent's report) before the recheck is due: no new read.
      const asked = h.asked.length;
      expect(upToDate(await h.round(pods)).reason).toBe("ClusterNotGreen");
      expect(h.asked.length).toBe(asked);
      h.advance(plan.requeueMs!);
    }
    // Re-read with growing delays (capped), one Event for the unchanged reason.
    expect(delays).toEqual([HEALTH_BACKOFF.minMs, 2 * HEALTH_BACKOFF.minMs, 4 * HEALTH_BACKOFF.minMs]);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toStartWith("Normal RestartWaitingForHealth: pod q-es-default-0 must restart");
    expect(h.asked[0]).toEqual(["q-es-default-0", "q-es-default-1"]);
    expect(h.asked).toHaveLength(3);

    const plan = await h.round(pods);
    expect("evict" in plan.step).toBe(true);
    expect(h.evictions).toEqual(["q-es-default-0"]);
    expect(plan.pending?.pod).toBe("q-es-default-0");
  });

  test("an unreachable cluster (no pod answered) holds it too, as a Warning naming what failed", async () => {
    const h = harness([{ status: "unreachable", reason: "q-es-default-0: connect ECONNREFUSED" }]);
    const plan = await h.round([pod("q-es-default-0", "elasticsearch")]);
    expect(h.evictions).toEqual([]);
    expect(upToDate(plan)).toMatchObject({ status: "False", reason: "ClusterHealthUnknown" });
    expect(upToDate(plan).message).toContain("cluster health could not be read (q-es-default-0: connect ECONNREFUSED)");
    expect(h.events).toEqual([expect.stringMatching(/^Warning RestartWaitingForHealth: .*ECONNREFUSED/)]);
  });

  test("red holds it; a Kibana restart is not gated on Elasticsearch's health", async () => {
    const h = harness([{ status: "red", pod: "q-es-default-0" }]);
    const plan = await h.round([pod("kb-1", "kibana"), pod("q-es-default-0", "elasticsearch")]);
    expect(h.evictions).toEqual(["kb-1"]); // Kibana first when enabling, health not asked
    expect(h.asked).toEqual([]);
    expect("evict" in plan.step).toBe(true);
  });

  test("the pods asked: Ready, with an IP, not terminating, in name order", () => {
    const notReady = pod("q-es-default-2", "elasticsearch");
    notReady.pod.status!.conditions = [{ type: "Ready", status: "False" }];
    const gone = pod("q-es-default-3", "elasticsearch");
    gone.pod.metadata!.deletionTimestamp = new Date();
    const noIp = pod("q-es-default-4", "elasticsearch");
    delete noIp.pod.status!.podIP;
    const names = healthTargets([pod("q-es-default-1", "elasticsearch").pod, notReady.pod, gone.pod, noIp.pod, pod("q-es-default-0", "elasticsearch").pod]).map((p) => p.metadata!.name);
    expect(names).toEqual(["q-es-default-0", "q-es-default-1"]);
  });
});
