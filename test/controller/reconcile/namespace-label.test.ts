// Issue 18 finding 8: the namespace-label step remembers decided phases keyed by cluster names,
// which tenants choose. The map holds only clusters the Elasticsearch cache still has, so creating
// and deleting clusters under ever new names does not grow it.
import { expect, test } from "bun:test";
import type * as k8s from "@kubernetes/client-node";
import { decidedCount, syncNamespaceLabels } from "../../../controller/reconcile/namespace-label.ts";
import type { ReconcilerDeps } from "../../../controller/reconcile/deps.ts";
import type { Elasticsearch } from "../../../controller/resources.ts";

test("decided phases stay bounded by the clusters in the cache, however many names come and go", async () => {
  const clusters = new Map<string, Elasticsearch>();
  const d = {
    caches: {
      elasticsearch: { list: () => [...clusters.values()], get: (name: string, ns?: string) => clusters.get(`${ns}/${name}`) },
      kibana: { list: () => [], get: () => undefined },
      clientAuth: { list: () => [], get: () => undefined },
      activeNamespaces: { list: () => [] as k8s.V1Namespace[], get: () => undefined },
    },
    writer: { fresh: (_k: string, _ns: string | undefined, _n: string, cached: unknown) => cached, mergePatch: async (o: unknown) => o },
  } as unknown as Pick<ReconcilerDeps, "caches" | "writer">;
  const es = (ns: string, name: string) => ({ metadata: { namespace: ns, name, uid: `${ns}-${name}` }, spec: {} }) as Elasticsearch;
  clusters.set("keep/prod", es("keep", "prod"));
  await syncNamespaceLabels("keep/prod", "Enabled", d);
  for (let i = 0; i < 2000; i++) {
    const key = `t${i % 50}/c${i}`;
    clusters.set(key, es(`t${i % 50}`, `c${i}`));
    await syncNamespaceLabels(key, "Enabling", d);
    clusters.delete(key); // deleted: the watch drops it, the reconcile of the gone cluster follows
    await syncNamespaceLabels(key, undefined, d);
  }
  expect(decidedCount(d)).toBe(1); // keep/prod only
  // A cluster being deleted but still cached keeps its "gone" decision (it overrides the stale persisted phase).
  clusters.set("t1/going", es("t1", "going"));
  await syncNamespaceLabels("t1/going", undefined, d);
  expect(decidedCount(d)).toBe(2);
});

/** n clusters in 10 namespaces, all Enabled, on fakes with revisions that count every read (issue 21: O(n²) per resync). */
function countingDeps(n: number) {
  let reads = 0;
  const revisions = { elasticsearch: 0, clientAuth: 0, namespaces: 0, writer: 0 };
  const clusters = new Map<string, Elasticsearch>();
  const phases = new Map<string, string>();
  const labelled = new Map<string, k8s.V1Namespace>();
  for (let i = 0; i < n; i++) {
    const [ns, name] = [`ns${i % 10}`, `c${i}`];
    clusters.set(`${ns}/${name}`, { metadata: { namespace: ns, name }, spec: {} } as Elasticsearch);
    phases.set(`${ns}/${name}`, "Enabled");
  }
  const counted = <T>(items: () => T[], get: (name: string, ns?: string) => T | undefined, revision: () => number) => ({
    list: () => { const all = items(); reads += 1 + all.length; return all; },
    get: (name: string, ns?: string) => (reads++, get(name, ns)),
    revision,
  });
  const d = {
    caches: {
      elasticsearch: counted(() => [...clusters.values()], (name, ns) => clusters.get(`${ns}/${name}`), () => revisions.elasticsearch),
      kibana: counted(() => [], () => undefined, () => 0),
      clientAuth: counted(() => [], (name, ns) => (phases.has(`${ns}/${name}`) ? { status: { phase: phases.get(`${ns}/${name}`) } } : undefined), () => revisions.clientAuth),
      activeNamespaces: counted(() => [...labelled.values()], (name) => labelled.get(name), () => revisions.namespaces),
    },
    writer: {
      fresh: (_k: string, _ns: string | undefined, _n: string, cached: unknown) => (reads++, cached),
      mergePatch: async (o: k8s.V1Namespace) => {
        revisions.writer++;
        labelled.set(o.metadata!.name!, o); // as if the watch had delivered it at once
        revisions.namespaces++;
        return o;
      },
      revision: () => revisions.writer,
    },
  } as unknown as Pick<ReconcilerDeps, "caches" | "writer">;
  /** One resync: every cluster reconciled once with its unchanged phase; the reads it took. */
  const resync = async () => {
    const start = reads;
    for (const key of clusters.keys()) await syncNamespaceLabels(key, "Enabled", d);
    return reads - start;
  };
  return { d, resync, clusters, phases, revisions };
}

test("a no-op resync reads a constant amount per cluster, at 100 as at 1,000 clusters; a change is judged again", async () => {
  const perCluster: number[] = [];
  for (const n of [100, 1000]) {
    const { resync } = countingDeps(n);
    await resync(); // the first: labels written, judged again after each change
    perCluster.push((await resync()) / n);
  }
  // Before issue 21 each call read every cluster: ~3 n reads per call, 300 and 3,000 per cluster here.
  expect(perCluster[0]).toBeLessThanOrEqual(2);
  expect(perCluster[1]).toBe(perCluster[0]!);

  const { d, resync, clusters, phases, revisions } = countingDeps(20);
  await resync();
  // A cluster Enabled in a new namespace, seen by the caches: the next reconcile of any cluster labels it.
  clusters.set("new/x", { metadata: { namespace: "new", name: "x" }, spec: {} } as Elasticsearch);
  phases.set("new/x", "Enabled");
  revisions.elasticsearch++;
  revisions.clientAuth++;
  expect(await syncNamespaceLabels("ns0/c0", "Enabled", d)).toEqual(["+new"]);
  // A decision alone (no cache event yet) is judged too.
  expect(await syncNamespaceLabels("new/x", "Disabled", d)).toEqual(["-new"]);
});
