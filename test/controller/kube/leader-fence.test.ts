// Only the leader writes: once the fence says this replica stopped leading (its renew deadline
// passed), the Writer refuses every write before sending it and the EventRecorder records nothing.
import { describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { Writer } from "../../../controller/kube/writer.ts";
import { EventRecorder } from "../../../controller/kube/events.ts";
import { NotLeaderError } from "../../../controller/errors.ts";

function unreachableKubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  // Port 9 (discard) on loopback: a write that got past the fence would fail with a connection error instead.
  kc.loadFromOptions({ clusters: [{ name: "c", server: "https://127.0.0.1:9", skipTLSVerify: true }], users: [{ name: "u", token: "t" }], contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x" });
  return kc;
}

describe("leader fence", () => {
  test("the Writer refuses every write with NotLeaderError once the fence is down, without sending it", async () => {
    const writer = new Writer(unreachableKubeConfig());
    writer.fence = () => false;
    const secret = { apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "ns" } };
    for (const write of [() => writer.apply(secret), () => writer.mergePatch(secret), () => writer.createSecret(secret), () => writer.replaceSecret(secret), () => writer.evict("ns", "p"), () => writer.deleteSecret("ns", "s")]) {
      const error = await write().then(() => undefined, (e: unknown) => e);
      expect(error).toBeInstanceOf(NotLeaderError);
      expect((error as NotLeaderError).code).toBe("ERR_NOT_LEADER");
    }
  });

  test("with the fence up the Writer does send (and here fails to connect): the fence is what refused above", async () => {
    const writer = new Writer(unreachableKubeConfig());
    const error = await writer.createSecret({ metadata: { name: "s", namespace: "ns" } }).then(() => undefined, (e: unknown) => e);
    expect(error).toBeDefined();
    expect(error).not.toBeInstanceOf(NotLeaderError);
  });

  test("the EventRecorder records nothing while the fence is down, and records again once it is up", async () => {
    const created: string[] = [];
    const events = new EventRecorder(undefined, "controller-0", { create: async (_ns, e) => void created.push(e.reason!) });
    let leading = false;
    events.fence = () => leading;
    const target = { kind: "Elasticsearch", namespace: "ns", name: "es", uid: "u1", apiVersion: "elasticsearch.k8s.elastic.co/v1" };
    expect(await events.record(target, "Normal", "Deposed", "m")).toBe(false);
    expect(created).toEqual([]);
    leading = true;
    expect(await events.record(target, "Normal", "Leading", "m")).toBe(true);
    expect(created).toEqual(["Leading"]);
  });
});
