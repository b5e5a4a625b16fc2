// Initial lists in pages (issue 21): the apiserver answers `limit` objects and a continue token, so
// a 10,000-object list never arrives as one JSON body, parsed and turned into typed models whole
// before anything is dropped; each page is trimmed (kube/cached-fields.ts) before the next is asked.
import type * as k8s from "@kubernetes/client-node";

/** One page of a LIST: client-node's list methods take these two parameters. */
type ListPage = { limit: number; _continue?: string };
export type ListPageFn<T extends k8s.KubernetesObject> = (page: ListPage) => Promise<k8s.KubernetesListObject<T>>;

/** Objects per page of an initial list (client-go's informers ask 500 too). */
export const LIST_PAGE_SIZE = 500;

/**
 * Lists every page of `listPage` (one consistent snapshot: the apiserver keeps the first page's
 * resourceVersion) and keeps `keep(item)` of each, page by page. An expired continue token fails
 * the list, which the cache restarts as any failed list.
 */
export async function listInPages<T extends k8s.KubernetesObject>(listPage: ListPageFn<T>, keep: (o: T) => T = (o) => o, limit = LIST_PAGE_SIZE): Promise<k8s.KubernetesListObject<T>> {
  const items: T[] = [];
  let resourceVersion: string | undefined;
  let next: string | undefined;
  do {
    const page = await listPage({ limit, ...(next ? { _continue: next } : {}) });
    // An empty metadata-only list arrives with `items: null` (Go's nil slice).
    for (const o of page.items ?? []) items.push(keep(o));
    resourceVersion = page.metadata?.resourceVersion;
    // Typed lists (CoreV1Api) name it `_continue`; custom objects arrive as raw JSON (`continue`).
    const meta = page.metadata as (k8s.V1ListMeta & { continue?: string }) | undefined;
    next = meta?._continue || meta?.continue || undefined;
  } while (next);
  return { metadata: { resourceVersion }, items };
}
