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
