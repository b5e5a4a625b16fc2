// Issue 21: the read-your-writes overlay (kube/writer.ts) forgets what it remembers. An entry is
// dropped when fresh() asks for it after the cache caught up or after its TTL; entries nobody asks
// for again (a status, an Event's object) are swept once they expire, and none keeps managedFields.
import { afterEach, expect, setSystemTime, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { Writer } from "../../../controller/kube/writer.ts";

function kubeConfig(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({ clusters: [{ name: "c", server: "https://127.0.0.1:1", skipTLSVerify: true }], users: [{ name: "u", token: "t" }], contexts: [{ name: "x", cluster: "c", user: "u" }], currentContext: "x" });
  return kc;
}

afterEach(() => setSystemTime());

test("expired entries nobody asked for again are swept as more writes come; fresh entries stay; none keeps managedFields", () => {
  const writer = new Writer(kubeConfig());
  const remember = (name: string) =>
    writer["remember"]("Secret", "ns", name, { metadata: { name, namespace: "ns", resourceVersion: "1", managedFields: [{ manager: "es-mtls" }] } });
  const overlay = () => writer["overlay"] as Map<string, { obj: k8s.KubernetesObject | null }>;
  setSystemTime(new Date("2026-12-07T00:00:00Z"));
  for (let i = 0; i < 255; i++) remember(`old-${i}`);
  expect(overlay().size).toBe(255);
  expect([...overlay().values()].every((e) => e.obj?.metadata?.managedFields === undefined)).toBe(true);
  // Within the TTL the overlay answers, not the cache.
  expect(writer.fresh("Secret", "ns", "old-0", undefined)?.metadata?.name).toBe("old-0");
  setSystemTime(new Date("2026-12-07T00:00:11Z"));
  const revision = writer.revision();
  remember("new");
  expect(overlay().size).toBe(1);
  expect(writer.revision()).toBeGreaterThan(revision + 1);
  expect(writer.fresh("Secret", "ns", "new", undefined)?.metadata?.name).toBe("new");
  expect(writer.fresh("Secret", "ns", "old-1", undefined)).toBeUndefined();
});
