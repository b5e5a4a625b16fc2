// Issue 21: the controller's own writes come back as watch events; those echoes are queued in the
// resync lane (controller/assemble.ts), so others' changes go first. The Writer tells an echo apart
// by the resourceVersion it wrote: here against a real apiserver, with the version another client
// writes next counted as a change.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { Writer } from "../../controller/kube/writer.ts";

let cp: ControlPlane;
beforeAll(async () => {
  cp = await ControlPlane.start({ controllerManager: false });
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

test("a Secret the Writer applied is its own echo at that resourceVersion; another client's update of it is not", async () => {
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "echo" } } });
  const writer = new Writer(kc);
  const written = await writer.apply<k8s.V1Secret>({ apiVersion: "v1", kind: "Secret", metadata: { name: "s", namespace: "echo" }, stringData: { a: "1" } });
  const ownVersion = written.metadata!.resourceVersion;
  expect(ownVersion).toBeDefined();
  expect(writer.wrote("Secret", "echo", "s", ownVersion)).toBe(true);
  // Another kind or name with that version is not this write.
  expect(writer.wrote("Secret", "echo", "t", ownVersion)).toBe(false);
  expect(writer.wrote("Namespace", undefined, "echo", ownVersion)).toBe(false);
  const theirs = await core.patchNamespacedSecret({ name: "s", namespace: "echo", body: { data: { b: btoa("2") } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  expect(theirs.metadata!.resourceVersion).not.toBe(ownVersion);
  expect(writer.wrote("Secret", "echo", "s", theirs.metadata!.resourceVersion)).toBe(false);
  // Once the cache caught up with its write (fresh() drops the entry), nothing is an echo any more.
  writer.fresh("Secret", "echo", "s", written);
  expect(writer.wrote("Secret", "echo", "s", ownVersion)).toBe(false);
}, 60_000);
