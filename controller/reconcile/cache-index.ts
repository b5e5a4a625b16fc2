// Indexes over the caches for what one reconcile reads of its own cluster: the labelled Secrets
// addressed to it, its pods, the Kibanas that reference it. Scanning a whole cache in every
// reconcile made a resync O(clusters²) (issue 21: 10,000 labelled Secrets sorted and judged for
// each of 1,000 clusters). An index is built from one list of its cache and reused while the cache's
// revision (ObjectCache.revision) stays the same, so a no-op resync lists each cache once, not once
// per cluster; any change rebuilds it at its next use (one list, as one reconcile read before).
// A cache without a revision (tests' fakes) is indexed again at every use: the same answers.
// An index whose readers do not depend on the order within a group (`anyOrder`) is updated with the
// cache's changes since it was built (ObjectCache.changesSince) instead: one Secret's change at 10,000
// labelled Secrets rebuilt the whole index in that change's reconcile (issue 21).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { CacheChange, ObjectCache } from "../kube/informers.ts";

type Built = {
  revision: number;
  index: Map<string, readonly unknown[]>;
  /** For updates: each object's index key, by nsKey of the object (anyOrder indexes only). */
  keys?: Map<string, string>;
};

/** Per cache, per index name: the last index built and the revision it was built at. */
const built = new WeakMap<object, Map<string, Built>>();

/** Index builds and updates so far (tests count them: a no-op resync builds each index once at most). */
export const indexStats = { builds: 0, itemsIndexed: 0, updates: 0 };

/**
 * The objects of `cache` grouped by `keyOf` (no key: left out), in the cache's order unless
 * `anyOrder`; `name` tells apart the indexes of one cache. Rebuilt only when the cache's revision
 * moved, and with `anyOrder` only when the cache no longer keeps the changes since.
 */
export function indexOf<T extends KubernetesObject>(cache: ObjectCache<T>, name: string, keyOf: (obj: T) => string | undefined, opts: { anyOrder?: boolean } = {}): ReadonlyMap<string, readonly T[]> {
  const revision = cache.revision?.();
  let perCache = built.get(cache);
  const last = perCache?.get(name);
  if (revision !== undefined && last?.revision === revision) return last.index as ReadonlyMap<string, readonly T[]>;
  if (revision !== undefined && last?.keys) {
    const changes = cache.changesSince?.(last.revision);
    if (changes) {
      applyChanges(last as Built & { keys: Map<string, string> }, changes, keyOf);
      last.revision = revision;
      indexStats.updates++;
      return last.index as ReadonlyMap<string, readonly T[]>;
    }
  }
  const index = new Map<string, T[]>();
  const keys = opts.anyOrder ? new Map<string, string>() : undefined;
  const all = cache.list();
  for (const obj of all) {
    const k = keyOf(obj);
    if (k === undefined) continue;
    const group = index.get(k);
    if (group) group.push(obj);
    else index.set(k, [obj]);
    keys?.set(objectKey(obj), k);
  }
  indexStats.builds++;
  indexStats.itemsIndexed += all.length;
  if (revision !== undefined) {
    if (!perCache) built.set(cache, (perCache = new Map()));
    perCache.set(name, { revision, index, ...(keys ? { keys } : {}) });
  }
  return index;
}

const objectKey = (obj: KubernetesObject) => nsKey(obj.metadata?.namespace, obj.metadata?.name);

/** Each change moves its object out of its old group and into its new one; a group is replaced, never changed in place (a reader may hold it). */
function applyChanges<T extends KubernetesObject>(b: Built & { keys: Map<string, string> }, changes: readonly CacheChange<T>[], keyOf: (obj: T) => string | undefined) {
  for (const { type, obj } of changes) {
    const id = objectKey(obj);
    const old = b.keys.get(id);
    if (old !== undefined) {
      const rest = (b.index.get(old) ?? []).filter((o) => objectKey(o as T) !== id);
      if (rest.length) b.index.set(old, rest);
      else b.index.delete(old);
      b.keys.delete(id);
    }
    const k = type === "delete" ? undefined : keyOf(obj);
    if (k === undefined) continue;
    b.index.set(k, [...(b.index.get(k) ?? []), obj]);
    b.keys.set(id, k);
  }
}

/**
 * What changed in `cache` since `name` last asked, for upkeep that only a change makes due: the
 * changes in order, none, or "all" (the first time, a cache without a revision, or changes no longer kept).
 */
export function changesSince<T>(cache: ObjectCache<T>, name: string): readonly CacheChange<T>[] | "all" {
  const revision = cache.revision?.();
  if (revision === undefined) return "all";
  let perCache = built.get(cache);
  if (!perCache) built.set(cache, (perCache = new Map()));
  const last = perCache.get(name);
  if (last?.revision === revision) return [];
  perCache.set(name, { revision, index: new Map() });
  return (last && cache.changesSince?.(last.revision)) ?? "all";
}

/** The key of a namespaced object's name: "namespace\0name" (a NUL is in neither). */
export const nsKey = (namespace: string | undefined, name: string | undefined): string => `${namespace ?? ""}\u0000${name ?? ""}`;
