// controller/kube/eck-licensing.ts on fake watches: ECK counts as installed only when the operator
// namespace exists; its ConfigMap is watched only then; a ConfigMap the controller may not read is
// "unknown" (said in a warning log), never "no ECK"; readiness never waits for the ConfigMap.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import type { V1ConfigMap, V1Namespace } from "@kubernetes/client-node";
import { EckLicensing, type Watched } from "../../../controller/kube/eck-licensing.ts";
import { license } from "../../support/cluster-fakes.ts";

class FakeWatch<T> implements Watched<T> {
  items: T[] = [];
  loaded = false;
  failure: unknown;
  started = 0;
  stopped = 0;
  constructor(private readonly changed: () => void) {}
  async start() {
    this.started++;
  }
  async stop() {
    this.stopped++;
  }
  list() {
    return this.items;
  }
  load(items: T[]) {
    this.items = items;
    this.loaded = true;
    this.failure = undefined;
    this.changed();
  }
  fail(error: unknown) {
    this.failure = error;
    this.changed();
  }
}

/** As client-node throws it: the HTTP status as `code`, the apiserver's Status as `body`. */
const forbidden = Object.assign(new Error("HTTP-Code: 403"), {
  code: 403,
  body: JSON.stringify({ kind: "Status", reason: "Forbidden", message: 'configmaps "elastic-licensing" is forbidden: User "system:serviceaccount:es-mtls-system:es-mtls-controller" cannot list resource "configmaps"' }),
});

function harness(operatorNamespace = "elastic-system") {
  const opened = { namespace: [] as FakeWatch<V1Namespace>[], configMap: [] as FakeWatch<V1ConfigMap>[] };
  let changes = 0;
  const licensing = new EckLicensing(
    operatorNamespace,
    {
      namespace: (changed) => {
        const w = new FakeWatch<V1Namespace>(changed);
        opened.namespace.push(w);
        return w;
      },
      configMap: (changed) => {
        const w = new FakeWatch<V1ConfigMap>(changed);
        opened.configMap.push(w);
        return w;
      },
    },
    () => changes++,
  );
  return { licensing, opened, changes: () => changes };
}

/** Lets the follow() a namespace event started run to its end. */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

let stderr: ReturnType<typeof spyOn> | undefined;
afterEach(() => stderr?.mockRestore());
function captureLog(): string[] {
  const lines: string[] = [];
  stderr = spyOn(process.stderr, "write").mockImplementation(((chunk: string) => {
    lines.push(String(chunk));
    return true;
  }) as typeof process.stderr.write);
  return lines;
}

describe("ECK's licensing as observed", () => {
  test("an empty --operator-namespace: no ECK, nothing watched, ready at once", async () => {
    const h = harness("");
    await h.licensing.start();
    expect(h.licensing.observe()).toEqual({ eck: "off" });
    expect(h.opened.namespace).toEqual([]);
    expect(h.opened.configMap).toEqual([]);
    expect(h.licensing.synced).toBe(true);
  });

  test("the operator namespace does not exist: no ECK, and its ConfigMap is never asked for", async () => {
    const h = harness();
    await h.licensing.start();
    expect(h.licensing.synced).toBe(false);
    expect(h.licensing.observe()).toMatchObject({ eck: "unknown", why: "namespace elastic-system not listed yet" });
    h.opened.namespace[0]!.load([]);
    await settle();
    expect(h.licensing.synced).toBe(true);
    expect(h.licensing.observe()).toEqual({ eck: "absent", namespace: "elastic-system" });
    expect(h.opened.configMap).toEqual([]);
  });

  test("the namespace appears: its ConfigMap is watched, the last answer stands until its first read, then ECK's licence; gone again: the watch stops", async () => {
    const h = harness();
    await h.licensing.start();
    const ns = h.opened.namespace[0]!;
    ns.load([]);
    await settle();
    const before = h.changes();
    ns.load([{ metadata: { name: "elastic-system" } }]);
    await settle();
    const cm = h.opened.configMap[0]!;
    expect(cm.started).toBe(1);
    // One list under way: no flip to "unknown" and back (each would be a Warning Event on active clusters).
    expect(h.licensing.observe()).toEqual({ eck: "absent", namespace: "elastic-system" });
    expect(h.licensing.synced).toBe(false);
    expect(h.changes() - before).toBe(0);
    cm.load([license("enterprise")]);
    expect(h.licensing.observe()).toMatchObject({ eck: "installed", configMap: { data: { eck_license_level: "enterprise" } } });
    expect(h.licensing.synced).toBe(true);
    cm.load([]);
    expect(h.licensing.observe()).toEqual({ eck: "installed", namespace: "elastic-system", configMap: undefined });
    // absent → installed (enterprise) → installed (none): each a change every cluster hears of.
    expect(h.changes() - before).toBe(2);
    cm.load([]); // the same answer again (a watch reconnect): no change
    expect(h.changes() - before).toBe(2);
    ns.load([]);
    await settle();
    expect(cm.stopped).toBe(1);
    expect(h.licensing.observe()).toEqual({ eck: "absent", namespace: "elastic-system" });
  });

  test("a ConfigMap it may not read (403) is unknown with the apiserver's reason and a warning, never no ECK; readiness does not wait for it", async () => {
    const lines = captureLog();
    const h = harness();
    await h.licensing.start();
    h.opened.namespace[0]!.load([{ metadata: { name: "elastic-system" } }]);
    await settle();
    // At start nothing was answered before: "not read yet" is unknown too.
    expect(h.licensing.observe()).toMatchObject({ eck: "unknown", why: "ConfigMap elastic-system/elastic-licensing not read yet" });
    h.opened.configMap[0]!.fail(forbidden);
    const observed = h.licensing.observe();
    expect(observed.eck).toBe("unknown");
    expect(observed.eck === "unknown" && observed.why).toContain('ConfigMap elastic-system/elastic-licensing cannot be read (forbidden): configmaps "elastic-licensing" is forbidden');
    expect(h.licensing.synced).toBe(true);
    const warnings = lines.map((l) => JSON.parse(l)).filter((l) => l.level === "warn");
    expect(warnings).toHaveLength(1);
    expect(warnings[0].msg).toContain("enabling client authentication is refused");
    expect(warnings[0].why).toContain("(forbidden)");
  });
});
