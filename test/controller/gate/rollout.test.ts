// The restart order, as a pure decision over the pods of one cluster.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { nextRestart, type RolloutPod } from "../../../controller/gate/rollout.ts";

const owned = (name: string, kind = "StatefulSet", extra: Partial<V1Pod["metadata"]> = {}): V1Pod => ({
  metadata: { name, uid: `uid-${name}`, ownerReferences: [{ apiVersion: "apps/v1", kind, name: "owner", uid: `owner-${kind}`, controller: true }], ...extra },
});
const es = (name: string, o: Partial<RolloutPod> = {}): RolloutPod => ({ pod: owned(name), role: "elasticsearch", injected: false, enforcement: "none", proven: false, ...o });
const kb = (name: string, o: Partial<RolloutPod> = {}): RolloutPod => ({ pod: owned(name, "ReplicaSet"), role: "kibana", injected: false, enforcement: "none", proven: false, ...o });
const evicted = (s: ReturnType<typeof nextRestart>) => ("evict" in s ? s.evict.metadata!.name : "wait" in s ? `wait: ${s.wait}` : "done");

describe("nextRestart", () => {
  test("enabling: Kibana first, then Elasticsearch pods not yet requiring certificates", () => {
    expect(evicted(nextRestart("Enabling", [es("es-0"), es("es-1"), kb("kb-a")]))).toBe("kb-a");
    expect(evicted(nextRestart("Enabling", [es("es-0"), es("es-1"), kb("kb-b", { injected: true, proven: true })]))).toBe("es-0");
    const es0 = es("es-0", { injected: true, enforcement: "required", proven: true });
    expect(evicted(nextRestart("Enabling", [es0, es("es-1"), kb("kb-b", { injected: true, proven: true })]))).toBe("es-1");
    expect(evicted(nextRestart("Enabled", [es0, es("es-1", { injected: true, enforcement: "required", proven: true })]))).toBe("done");
  });

  test("a restarted pod that has not proven its material holds everything back", () => {
    const step = nextRestart("Enabling", [es("es-0", { injected: true, enforcement: "required", proven: false }), es("es-1")]);
    expect(evicted(step)).toBe("wait: pod es-0 has not proven its material yet");
  });

  test("a terminating pod, or a restarted pod not yet replaced, holds everything back", () => {
    const terminating = es("es-0");
    terminating.pod.metadata!.deletionTimestamp = new Date();
    expect(evicted(nextRestart("Enabling", [terminating, es("es-1")]))).toBe("wait: pod es-0 is terminating");
    const pending = { pod: "es-0", ownerUid: "owner-StatefulSet", knownUids: ["uid-es-0", "uid-es-1"] };
    expect(evicted(nextRestart("Enabling", [es("es-1")], pending))).toBe("wait: waiting for the replacement of pod es-0");
    expect(evicted(nextRestart("Enabling", [es("es-1"), es("es-0b")], pending))).toBe("es-1");
  });

  test("disabling: only Elasticsearch pods that still require certificates; Kibana keeps presenting", () => {
    const step = nextRestart("Disabling", [es("es-0", { injected: true, enforcement: "none", proven: true }), es("es-1", { injected: true, enforcement: "required", proven: true }), kb("kb-a")]);
    expect(evicted(step)).toBe("es-1");
  });

  test("pods no controller would re-create are never restarted; nothing happens outside the active phases", () => {
    const bare: RolloutPod = { pod: { metadata: { name: "bare", uid: "u" } }, role: "elasticsearch", injected: false, enforcement: "none", proven: false };
    expect(evicted(nextRestart("Enabling", [bare]))).toBe("done");
    expect(evicted(nextRestart("Disabled", [es("es-0")]))).toBe("done");
    expect(evicted(nextRestart("Blocked", [es("es-0")]))).toBe("done");
  });
});

describe("Kibana after an identity renewal", () => {
  const renewed = kb("kb-a", { injected: true, proven: false, restartRequired: true });
  const ready = [es("es-0", { injected: true, enforcement: "required", proven: true }), es("es-1", { injected: true, enforcement: "required", proven: true })];
  test("is restarted to load its new certificate once every Elasticsearch pod trusts it, and does not block others meanwhile", () => {
    expect(evicted(nextRestart("Enabled", [...ready, renewed], undefined, true))).toBe("kb-a");
    expect(evicted(nextRestart("Enabled", [...ready, renewed], undefined, false))).toStartWith("wait: a Kibana must restart");
    expect(evicted(nextRestart("Disabling", [...ready, renewed], undefined, true))).toBe("es-0");
  });
});

describe("pods a restart would not inject, and backoff", () => {
  test("an opted-out Elasticsearch pod is never picked, in any active phase, and the others still are", () => {
    const out = es("es-0", { notInjectable: "OptedOut" });
    for (const phase of ["Enabling", "Enabled"] as const) expect(evicted(nextRestart(phase, [out]))).toBe("done");
    expect(evicted(nextRestart("Enabling", [out, es("es-1")]))).toBe("es-1");
    expect(evicted(nextRestart("Disabling", [es("es-0", { injected: true, enforcement: "required", proven: true, notInjectable: "PathMounted" })]))).toBe("done");
  });

  test("the next pod in order waits out its backoff; Kibana first is kept meanwhile", () => {
    const now = Date.parse("2026-11-28T00:00:00Z");
    const step = nextRestart("Enabling", [kb("kb-a", { retryAt: now + 20_000 }), es("es-0")], undefined, true, now);
    expect(evicted(step)).toBe("wait: pod kb-a must restart to present its client certificate; next attempt at 2026-11-28T00:00:20.000Z");
    expect(evicted(nextRestart("Enabling", [kb("kb-a", { retryAt: now - 1 }), es("es-0")], undefined, true, now))).toBe("kb-a");
  });
});
