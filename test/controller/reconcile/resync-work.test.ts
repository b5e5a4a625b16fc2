// Issue 21: a no-op resync cost O(clusters²): every reconcile listed, sorted and judged every labelled
// Secret (and scanned every pod of its namespace, every Kibana) to find its own. The reconciler now
// reads its cluster's objects through indexes rebuilt only when a cache changed
// (reconcile/cache-index.ts). This counts the cache items every reconcile of a no-op resync reads,
// on the real reconciler over fakes with revisions, at 100 and at 1,000 clusters: the same per cluster.
import { expect, test } from "bun:test";
import type { KubernetesObject, V1Pod, V1Secret } from "@kubernetes/client-node";
import { FakeCache, MetadataFakeCache, elasticsearch, setup } from "../../support/cluster-fakes.ts";
import { indexStats } from "../../../controller/reconcile/cache-index.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { selfSignedClient } from "../../support/test-ca.ts";

const NAMESPACES = 10;
const SECRETS_PER_CLUSTER = 3;
const PODS_PER_CLUSTER = 3;

/** Counts the items every list() hands out, and each change as a revision (as kube/informers.ts's caches do). */
function counted<C extends FakeCache<KubernetesObject>>(cache: C, tally: { items: number }): C {
  let revision = 0;
  const put = cache.put.bind(cache);
  const del = cache.delete.bind(cache);
  const list = cache.list.bind(cache);
  return Object.assign(cache, {
    put: (o: KubernetesObject) => (revision++, put(o)),
    delete: (ns: string, name: string) => (revision++, del(ns, name)),
    list: (ns?: string) => {
      const out = list(ns);
      tally.items += out.length;
      return out;
    },
    revision: () => revision,
  });
}

async function resyncWork(n: number) {
  const h = setup();
  const tally = { items: 0 };
  for (const c of Object.values(h.caches)) if (c instanceof FakeCache) counted(c as FakeCache<KubernetesObject>, tally);
  h.caches.elasticsearch.delete("prod", "quickstart");
  const pem = (await selfSignedClient({ cn: "resync-work" })).certPem;
  const keys: string[] = [];
  for (let i = 0; i < n; i++) {
    const ns = `scale-${i % NAMESPACES}`;
    const name = `es-${i}`;
    const es = elasticsearch(true);
    h.caches.elasticsearch.put({ ...es, metadata: { ...es.metadata, namespace: ns, name, uid: `uid-${name}` } });
    for (let j = 0; j < SECRETS_PER_CLUSTER; j++) {
      const secret: V1Secret = {
        metadata: { namespace: ns, name: `${name}-client-${j}`, labels: clientCertLabels(name, ns), ownerReferences: [{ apiVersion: es.apiVersion!, kind: "Elasticsearch", name, uid: `uid-${name}` }] },
        data: { "tls.crt": btoa(pem) },
      };
      (h.caches.clientCertSecrets as MetadataFakeCache).put(secret);
    }
    for (let j = 0; j < PODS_PER_CLUSTER; j++) {
      const pod: V1Pod = { metadata: { namespace: ns, name: `${name}-es-default-${j}`, uid: `uid-${name}-${j}`, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": name } }, spec: { containers: [{ name: "elasticsearch" }] } };
      h.caches.pods.put(pod);
    }
    keys.push(`${ns}/${name}`);
  }
  // The first pass creates every cluster's CA, certificate, bundle and status; the second changes nothing.
  for (const k of keys) await h.reconciler.reconcile(k);
  const writes = h.writer.writes.length;
  const items = tally.items;
  const builds = indexStats.builds;
  for (const k of keys) await h.reconciler.reconcile(k);
  expect(h.writer.writes.length).toBe(writes); // a no-op resync
  return { itemsPerCluster: (tally.items - items) / n, indexBuilds: indexStats.builds - builds, bundles: keys.filter((k) => h.caches.managedSecrets.list(k.split("/")[0]).some((s) => s.metadata?.name === `${k.split("/")[1]}-es-client-trust-bundle`)).length };
}

test("a no-op resync reads the same number of cache items per cluster at 100 as at 1,000 clusters", async () => {
  const small = await resyncWork(100);
  console.log("RW", JSON.stringify(small));
  const large = await resyncWork(1000);
  console.log("RW", JSON.stringify(large));
  expect(small.bundles).toBe(100);
  expect(large.bundles).toBe(1000);
  // Before issue 21 each reconcile listed every labelled Secret and every pod of its namespace:
  // ~3,000 + 300 items per cluster at 1,000 clusters, ~300 + 30 at 100.
  expect(large.itemsPerCluster).toBeLessThan(20);
  expect(large.itemsPerCluster).toBeLessThanOrEqual(small.itemsPerCluster + 1);
  // Nothing changed during the resync: no index is built again.
  expect(large.indexBuilds).toBe(0);
}, 240_000);
