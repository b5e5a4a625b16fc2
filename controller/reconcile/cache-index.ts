// Indexes over the caches for what one reconcile reads of its own cluster: the labelled Secrets
// addressed to it, its pods, the Kibanas that reference it. Scanning a whole cache in every
// reconcile made a resync O(clusters²) (issue 21: 10,000 labelled Secrets sorted and judged for
// each of 1,000 clusters). An index is built from one list of its cache and reused while the cache's
// revision (ObjectCache.revision) stays the same, so a no-op resync lists each cache once, not once
// per cluster; any change rebuilds it at its next use (one list, as one reconcile read before).
// A cache without a revision (tests' fakes) is indexed again at every use: the same answers.
import type { KubernetesObject } from "@kubernetes/client-node";
import type { ObjectCache } from "../kube/informers.ts";

type Built = { revision: number; index: ReadonlyMap<string, readonly unknown[]> };

/** Per cache, per index name: the last index built and the revision it was built at. */
const built = new WeakMap<object, Map<string, Built>>();

/** Index builds so far (tests count them: a no-op resync builds each index once at most). */
export const indexStats = { builds: 0, itemsIndexed: 0 };

/**
 * The objects of `cache` grouped by `keyOf` (no key: left out), in the cache's order; `name` tells
 * apart the indexes of one cache. Rebuilt only when the cache's revision moved.
 */
export function indexOf<T extends KubernetesObject>(cache: ObjectCache<T>, name: string, keyOf: (obj: T) => string | undefined): ReadonlyMap<string, readonly T[]> {
  const revision = cache.revision?.();
  let perCache = built.get(cache);
  const last = perCache?.get(name);
  if (revision !== undefined && last?.revision === revision) return last.index as ReadonlyMap<string, readonly T[]>;
  const index = new Map<string, T[]>();
  const all = cache.list();
  for (const obj of all) {
    const k = keyOf(obj);
    if (k === undefined) continue;
    const group = index.get(k);
    if (group) group.push(obj);
    else index.set(k, [obj]);
  }
  indexStats.builds++;
  indexStats.itemsIndexed += all.length;
  if (revision !== undefined) {
    if (!perCache) built.set(cache, (perCache = new Map()));
    perCache.set(name, { revision, index });
  }
  return index;
}

/** True once per revision of `cache` (always for a cache without one): for upkeep that only a change makes due. */
export function changedSince(cache: ObjectCache<unknown>, name: string): boolean {
  const revision = cache.revision?.();
  if (revision === undefined) return true;
  let perCache = built.get(cache);
  if (!perCache) built.set(cache, (perCache = new Map()));
  const last = perCache.get(name);
  if (last?.revision === revision) return false;
  perCache.set(name, { revision, index: new Map() });
  return true;
}

/** The key of a namespaced object's name: "namespace\0name" (a NUL is in neither). */
export const nsKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ""}\u0000${name ?? ""}`;
