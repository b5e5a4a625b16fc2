// Step: keep ACTIVE_NAMESPACE_LABEL on exactly the namespaces that hold a cluster in an active phase
// (Enabling, Enabled, Disabling) or a Kibana whose elasticsearchRef names one. The pod webhook's
// namespaceSelector requires the label (as Istio's istio-injection), so pods of clusters that never
// enabled client authentication are never sent to the webhook and never wait on the controller.
//
// Run right after the phase decision, before status, intents and evictions: a cluster that starts
// Enabling has its namespace labelled before any pod of it is re-created. Every namespace is judged
// on every call (cheap: caches only), so a stale label heals on any reconcile. A cluster counts with
// the phase its latest reconcile decided (remembered here, ahead of its persisted status) or, before
// this process reconciled it, its persisted phase. Reconciles of different clusters run
// concurrently (queue.ts), so the judging and writing of one call is serialized with the others':
// a reconcile never removes the label another has just decided on. Writes are merge patches of that
// one label with the field manager, only when it differs (zero writes when nothing changed); never an
// apply, which would create a namespace that was just deleted.
//
// The decided phases are keyed by cluster names, which tenants choose: an entry is kept only while
// its Elasticsearch is in the cache (issue 18 finding 8), so the map never outgrows the clusters that
// exist, however many are created and deleted. Once the cache no longer has a cluster, its entry
// says nothing the cache does not (a cluster absent from the cache is inactive either way).
import type { Phase } from "../../protocol/intent.ts";
import { ACTIVE_NAMESPACE_LABEL } from "../names.ts";
import { isNotFound } from "../kube/api-error.ts";
import { isActive } from "../policy/phases.ts";
import type { ReconcilerDeps } from "./deps.ts";

type Deps = Pick<ReconcilerDeps, "caches" | "writer">;

/** Per reconciler (keyed by its caches): decided phases (undefined: gone) and the tail of the serialized calls. */
const state = new WeakMap<object, { decided: Map<string, Phase | undefined>; tail: Promise<unknown> }>();

/** Namespaces that must carry the label; `decided` overrides the persisted phase of the clusters it names. */
export function wantedNamespaces(d: Deps, decided: ReadonlyMap<string, Phase | undefined>): Set<string> {
  const activeCluster = (namespace: string, name: string): boolean => {
    const key = `${namespace}/${name}`;
    if (decided.has(key)) return decided.get(key) !== undefined && isActive(decided.get(key)!);
    if (!d.caches.elasticsearch.get(name, namespace)) return false;
    const ca = d.writer.fresh("ClientAuthentication", namespace, name, d.caches.clientAuth.get(name, namespace));
    const phase = ca?.status?.phase as Phase | undefined;
    return phase !== undefined && isActive(phase);
  };
  const wanted = new Set<string>();
  for (const es of d.caches.elasticsearch.list()) {
    if (activeCluster(es.metadata.namespace, es.metadata.name)) wanted.add(es.metadata.namespace);
  }
  for (const kb of d.caches.kibana.list()) {
    const ref = kb.spec?.elasticsearchRef;
    if (ref?.name && activeCluster(ref.namespace || kb.metadata.namespace, ref.name)) wanted.add(kb.metadata.namespace);
  }
  return wanted;
}

/** Records `phase` as decided for `key` (undefined: the cluster is gone), then adds and removes the label where it differs; returns what it changed. */
export function syncNamespaceLabels(key: string, phase: Phase | undefined, d: Deps): Promise<string[]> {
  if (!d.caches.activeNamespaces) return Promise.resolve([]);
  let s = state.get(d.caches);
  if (!s) state.set(d.caches, (s = { decided: new Map(), tail: Promise.resolve() }));
  s.decided.set(key, phase); // a gone cluster counts as undefined (inactive) until the cache drops it
  const decided = s.decided;
  for (const k of decided.keys()) if (!cached(k, d)) decided.delete(k);
  const run = s.tail.then(() => sync(decided, d));
  s.tail = run.catch(() => {});
  return run;
}

const cached = (key: string, d: Deps) => {
  const slash = key.indexOf("/");
  return d.caches.elasticsearch.get(key.slice(slash + 1), key.slice(0, slash)) !== undefined;
};

/** How many clusters' decided phases are remembered (for the test that the map stays bounded). */
export function decidedCount(d: Deps): number {
  return state.get(d.caches)?.decided.size ?? 0;
}

async function sync(decided: ReadonlyMap<string, Phase | undefined>, d: Deps): Promise<string[]> {
  const labelled = d.caches.activeNamespaces!;
  const wanted = wantedNamespaces(d, decided);
  // The read-your-writes view: a label just written counts before the watch delivers it.
  const has = (name: string) => d.writer.fresh("Namespace", undefined, name, labelled.get(name))?.metadata?.labels?.[ACTIVE_NAMESPACE_LABEL] === "true";
  const changed: string[] = [];
  const patch = async (name: string, value: "true" | null) => {
    try {
      await d.writer.mergePatch({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { [ACTIVE_NAMESPACE_LABEL]: value as string } } });
      changed.push(`${value ? "+" : "-"}${name}`);
    } catch (e) {
      // A namespace being deleted with its clusters: nothing to label.
      if (!isNotFound(e)) throw e;
    }
  };
  for (const name of [...wanted].sort()) if (!has(name)) await patch(name, "true");
  for (const ns of labelled.list()) {
    const name = ns.metadata!.name!;
    if (!wanted.has(name) && has(name)) await patch(name, null);
  }
  return changed;
}
