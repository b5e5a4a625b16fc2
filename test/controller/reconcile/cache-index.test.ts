// Issue 21: one labelled Secret's change at 1,000 clusters rebuilt the soft-owner index over all
// 10,000 Secrets, and scanned them all again to prune the data of deleted ones, in that change's own
// reconcile. An `anyOrder` index is now updated with the cache's changes since it was built, and
// upkeep (changesSince) sees only what changed: here over a cache that keeps its changes as
// kube/informers.ts's caches do, against a rebuild from scratch.
import { expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import type { CacheChange, ObjectCache } from "../../../controller/kube/informers.ts";
import { changesSince, indexOf, indexStats, nsKey } from "../../../controller/reconcile/cache-index.ts";

/** A cache with a revision and a journal of its changes (the last `keep` of them), counting list() calls. */
class JournalCache implements ObjectCache<V1Secret> {
  private readonly objects = new Map<string, V1Secret>();
  private journal: CacheChange<V1Secret>[] = [];
  private base = 0;
  private changes = 0;
  lists = 0;
  constructor(private readonly keep = 1024) {}
  private record(type: CacheChange<V1Secret>["type"], obj: V1Secret) {
    this.changes++;
    this.journal.push({ type, obj });
    if (this.journal.length > this.keep) {
      this.journal = this.journal.slice(this.journal.length - this.keep);
      this.base = this.changes - this.journal.length;
    }
  }
  put(namespace: string, name: string, owner: string | undefined) {
    const id = `${namespace}/${name}`;
    const type = this.objects.has(id) ? "update" : "add";
    const obj: V1Secret = { metadata: { namespace, name, labels: owner === undefined ? {} : { owner } } };
    this.objects.set(id, obj);
    this.record(type, obj);
  }
  remove(namespace: string, name: string) {
    const obj = this.objects.get(`${namespace}/${name}`);
    if (!obj) return;
    this.objects.delete(`${namespace}/${name}`);
    this.record("delete", obj);
  }
  list() {
    this.lists++;
    return [...this.objects.values()];
  }
  get(name: string, namespace?: string) {
    return this.objects.get(`${namespace}/${name}`);
  }
  revision() {
    return this.changes;
  }
  changesSince(revision: number) {
    return revision < this.base || revision > this.changes ? undefined : this.journal.slice(revision - this.base);
  }
}

const byOwner = (s: V1Secret) => s.metadata?.labels?.owner;
/** Group → sorted names: the index's content, order aside. */
const content = (index: ReadonlyMap<string, readonly V1Secret[]>) =>
  Object.fromEntries([...index].map(([k, group]) => [k, group.map((s) => nsKey(s.metadata?.namespace, s.metadata?.name)).sort()]).sort(([a], [b]) => (a! < b! ? -1 : 1)));
/** The same index built from scratch, from a cache without a revision. */
const rebuilt = (cache: JournalCache) => indexOf({ list: () => cache.list(), get: () => undefined }, "rebuilt", byOwner);

test("an anyOrder index follows adds, owner changes, unlabelling and deletes without listing the cache again", () => {
  const cache = new JournalCache();
  for (let i = 0; i < 200; i++) cache.put(`ns${i % 7}`, `s${i}`, `c${i % 20}`);
  const first = indexOf(cache, "owner", byOwner, { anyOrder: true });
  const held = first.get("c3");
  const heldNames = held!.map((s) => s.metadata!.name);
  expect(cache.lists).toBe(1);
  const { builds, updates } = indexStats;

  cache.put("ns3", "s3", "c4"); // c3 → c4
  cache.put("ns1", "new", "c3");
  cache.put("ns4", "s4", undefined); // no owner any more: in no group
  cache.remove("ns5", "s5");
  cache.put("ns6", "s6", "c6"); // an update that keeps its group
  const updated = indexOf(cache, "owner", byOwner, { anyOrder: true });
  expect(cache.lists).toBe(1);
  expect(indexStats.builds).toBe(builds);
  expect(indexStats.updates).toBe(updates + 1);
  expect(updated.get("c3")!.map((s) => s.metadata!.name)).toContain("new");
  expect(updated.get("c3")!.map((s) => s.metadata!.name)).not.toContain("s3");
  expect(updated.get("c4")!.map((s) => s.metadata!.name)).toContain("s3");
  expect(updated.get("c5")!.map((s) => s.metadata!.name)).not.toContain("s5");
  // What a reader held is not changed under it.
  expect(held!.map((s) => s.metadata!.name)).toEqual(heldNames);
  expect(content(updated)).toEqual(content(rebuilt(cache)));
  // The updated group holds the updated object, not the one it replaced.
  expect(updated.get("c6")!.find((s) => s.metadata!.name === "s6")).toBe(cache.get("s6", "ns6")!);
});

test("an index the cache's journal no longer reaches back to is rebuilt; one without anyOrder is rebuilt at every change", () => {
  const cache = new JournalCache(4);
  for (let i = 0; i < 50; i++) cache.put("ns", `s${i}`, `c${i % 5}`);
  indexOf(cache, "owner", byOwner, { anyOrder: true });
  for (let i = 0; i < 10; i++) cache.put("ns", `s${i}`, "c9");
  const lists = cache.lists;
  const index = indexOf(cache, "owner", byOwner, { anyOrder: true });
  expect(cache.lists).toBe(lists + 1);
  expect(content(index)).toEqual(content(rebuilt(cache)));

  indexOf(cache, "ordered", byOwner);
  cache.put("ns", "s1", "c1");
  const before = cache.lists;
  indexOf(cache, "ordered", byOwner);
  expect(cache.lists).toBe(before + 1);
});

test("changesSince hands upkeep what changed since it last asked: all the first time, then only the changes, then none", () => {
  const cache = new JournalCache(8);
  for (let i = 0; i < 5; i++) cache.put("ns", `s${i}`, "c");
  expect(changesSince(cache, "upkeep")).toBe("all");
  expect(changesSince(cache, "upkeep")).toEqual([]);
  cache.remove("ns", "s2");
  cache.put("ns", "s3", "d");
  const changes = changesSince(cache, "upkeep");
  expect(changes).not.toBe("all");
  expect((changes as readonly CacheChange<V1Secret>[]).map((c) => `${c.type} ${c.obj.metadata!.name}`)).toEqual(["delete s2", "update s3"]);
  for (let i = 0; i < 20; i++) cache.put("ns", `t${i}`, "c");
  expect(changesSince(cache, "upkeep")).toBe("all");
  // Without a revision (tests' fakes): always everything.
  expect(changesSince({ list: () => [], get: () => undefined }, "upkeep")).toBe("all");
});
