// Issue 21: the controller's own writes come back as watch events; those echoes are queued in the
// resync lane (controller/assemble.ts), so others' changes go first. The Writer tells an echo apart
// by the resourceVersions it wrote: here against a real apiserver, with the version another client
// writes counted as a change, several writes to one object each an echo, and a watch event that
// arrives before its write's response (the writer's connection goes through a TCP relay that holds
// the apiserver's answers) still an echo.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { Writer } from "../../controller/kube/writer.ts";
import { eventually } from "../support/eventually.ts";

let cp: ControlPlane;
beforeAll(async () => {
  cp = await ControlPlane.start({ controllerManager: false });
  await cp.kubeConfig().makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name: "echo" } } });
}, 120_000);
afterAll(async () => {
  await cp?.stop();
});

/** The Writer's answer for a watched version, or "pending" while it waits for writes in flight. */
function classify(writer: Writer, name: string, rv: string | undefined): { answer: boolean | "pending" } {
  const out: { answer: boolean | "pending" } = { answer: "pending" };
  writer.classify("Secret", "echo", name, rv, (echo) => (out.answer = echo));
  return out;
}

const secret = (name: string, value: string) => ({ apiVersion: "v1", kind: "Secret", metadata: { name, namespace: "echo" }, stringData: { a: value } });

test("a Secret the Writer applied is its own echo at that resourceVersion; another client's update of it is not", async () => {
  const kc = cp.kubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const writer = new Writer(kc);
  const written = await writer.apply<k8s.V1Secret>(secret("s", "1"));
  const ownVersion = written.metadata!.resourceVersion;
  expect(ownVersion).toBeDefined();
  // Another kind or name with that version is not this write.
  expect(classify(writer, "t", ownVersion).answer).toBe(false);
  let other: boolean | undefined;
  writer.classify("Namespace", undefined, "echo", ownVersion, (echo) => (other = echo));
  expect(other).toBe(false);
  expect(classify(writer, "s", ownVersion).answer).toBe(true);
  // A second cache watching the same object (a CA Secret: the CA cache and the managed-by one) delivers it too: an echo as well.
  expect(classify(writer, "s", ownVersion).answer).toBe(true);
  const theirs = await core.patchNamespacedSecret({ name: "s", namespace: "echo", body: { data: { b: btoa("2") } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  expect(theirs.metadata!.resourceVersion).not.toBe(ownVersion);
  expect(classify(writer, "s", theirs.metadata!.resourceVersion).answer).toBe(false);
}, 60_000);

test("every version of several writes to one object is an echo, not only the last one's", async () => {
  const writer = new Writer(cp.kubeConfig());
  const first = (await writer.apply<k8s.V1Secret>(secret("two", "1"))).metadata!.resourceVersion;
  const second = (await writer.apply<k8s.V1Secret>(secret("two", "2"))).metadata!.resourceVersion;
  expect(second).not.toBe(first);
  // The first write's event arrives after the second write answered (as a status after its object).
  expect(classify(writer, "two", first).answer).toBe(true);
  expect(classify(writer, "two", second).answer).toBe(true);
}, 60_000);

/** A TCP relay to the apiserver whose answers to the client are held while `hold` is set. */
class HoldingRelay {
  hold = false;
  private readonly held: Array<() => void> = [];
  private readonly sockets = new Set<Socket>();
  private server!: Server;
  port = 0;

  async start(target: URL) {
    this.server = createServer((client) => {
      const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
      this.sockets.add(client).add(upstream);
      client.on("data", (b) => upstream.write(b));
      upstream.on("data", (b) => (this.hold ? this.held.push(() => client.write(b)) : client.write(b)));
      const end = () => (client.destroy(), upstream.destroy());
      client.on("close", end).on("error", end);
      upstream.on("close", end).on("error", end);
    });
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.port = (this.server.address() as { port: number }).port;
  }

  release() {
    this.hold = false;
    for (const send of this.held.splice(0)) send();
  }

  stop() {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }
}

test("a watch event that arrives before its write's response is an echo once the response names its version; another client's is not", async () => {
  const kc = cp.kubeConfig();
  const server = new URL(kc.getCurrentCluster()!.server);
  const relay = new HoldingRelay();
  await relay.start(server);
  const relayed = new k8s.KubeConfig();
  relayed.loadFromOptions({
    clusters: kc.clusters.map((c) => ({ ...c, server: `https://127.0.0.1:${relay.port}` })),
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  const writer = new Writer(relayed);
  await writer.apply(secret("early", "0")); // the relay's connection is open and the object exists
  const seen: string[] = [];
  const watch = await new k8s.Watch(kc).watch("/api/v1/namespaces/echo/secrets", { fieldSelector: "metadata.name=early" }, (_type, obj: k8s.V1Secret) => seen.push(obj.metadata!.resourceVersion!), () => {});
  try {
    await eventually(() => expect(seen.length).toBeGreaterThan(0), { what: "the watch's initial event" });
    const before = seen.length;

    // Our write reaches the apiserver, its answer is held: its watch event comes first.
    relay.hold = true;
    const write = writer.apply<k8s.V1Secret>(secret("early", "1"));
    const ours = await eventually(() => {
      expect(seen.length).toBe(before + 1);
      return seen[before]!;
    }, { what: "the write's watch event before its response" });
    const echo = classify(writer, "early", ours);
    expect(echo.answer).toBe("pending");

    // Meanwhile another client changes the object: its event waits for our write too, then is a change.
    await cp.kubeConfig().makeApiClient(k8s.CoreV1Api).patchNamespacedSecret({ name: "early", namespace: "echo", body: { data: { b: btoa("x") } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
    const theirs = await eventually(() => {
      expect(seen.length).toBe(before + 2);
      return seen[before + 1]!;
    }, { what: "the other client's watch event" });
    const change = classify(writer, "early", theirs);
    expect(change.answer).toBe("pending");

    // The same event from a second cache waits as well.
    const echoAgain = classify(writer, "early", ours);
    relay.release();
    expect((await write).metadata!.resourceVersion).toBe(ours);
    expect(echo.answer).toBe(true);
    expect(echoAgain.answer).toBe(true);
    expect(change.answer).toBe(false);
  } finally {
    watch.abort();
    relay.stop();
  }
}, 60_000);
