// Issue 21: listInPages follows continue tokens (typed `_continue` and raw `continue`), keeps what
// `keep` returns page by page, takes the snapshot's resourceVersion, and reads `items: null` (an
// empty metadata-only list) as no items. The real apiserver's side: test/integration/metadata-cache.test.ts.
import { expect, test } from "bun:test";
import type { KubernetesListObject, KubernetesObject } from "@kubernetes/client-node";
import { listInPages } from "../../../controller/kube/paged-list.ts";

type Page = KubernetesListObject<KubernetesObject>;
const obj = (name: string) => ({ metadata: { name, managedFields: [{ manager: "m" }] } });

test("every page is asked with the limit and the previous page's token; each item is kept as `keep` returns it", async () => {
  const pages: Page[] = [
    { metadata: { resourceVersion: "9", _continue: "t1" }, items: [obj("a"), obj("b")] },
    { metadata: { resourceVersion: "9", continue: "t2" } as Page["metadata"], items: [obj("c"), obj("d")] },
    { metadata: { resourceVersion: "9" }, items: [obj("e")] },
  ];
  const asked: unknown[] = [];
  const list = await listInPages(async (page) => (asked.push(page), pages[asked.length - 1]!), (o) => ({ metadata: { name: o.metadata!.name } }), 2);
  expect(asked).toEqual([{ limit: 2 }, { limit: 2, _continue: "t1" }, { limit: 2, _continue: "t2" }]);
  expect(list).toEqual({ metadata: { resourceVersion: "9" }, items: ["a", "b", "c", "d", "e"].map((name) => ({ metadata: { name } })) });
});

test("an empty list with items: null is an empty list", async () => {
  const list = await listInPages(async () => ({ metadata: { resourceVersion: "3" }, items: null as unknown as KubernetesObject[] }));
  expect(list).toEqual({ metadata: { resourceVersion: "3" }, items: [] });
});
