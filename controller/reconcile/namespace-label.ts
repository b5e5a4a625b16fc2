// Step: keep ACTIVE_NAMESPACE_LABEL on exactly the namespaces that hold a cluster in an active phase
// (Enabling, Enabled, Disabling) or a Kibana whose elasticsearchRef names one. The pod webhook's
// namespaceSelector requires the label (as Istio's istio-injection), so pods of clusters that never
// enabled client authentication are never sent to the webhook and never wait on the controller.
//
// Run right after the phase decision, before status, intents and evictions: a cluster that starts
// Enabling has its namespace labelled before any pod of it is re-created. Every namespace is judged
// (caches only) on any call after anything the judgment reads changed, so a stale label heals on the
// next reconcile. A cluster counts with the phase its latest reconcile decided (remembered here,
// ahead of its persisted status) or, before this process reconciled it, its persisted phase. Reconciles of different clusters run
// concurrently (queue.ts), so the judging and writing of one call is serialized with the others':
// a reconcile never removes the label another has just decided on. Writes are merge patches of that
// one label with the field manager, only when it differs (zero writes when nothing changed); never an
// apply, which would create a namespace that was just deleted.
//
// The decided phases are keyed by cluster names, which tenants choose: an entry is kept only while
// its Elasticsearch is in the cache (issue 18 finding 8), so the map never outgrows the clusters that
// exist, however many are created and deleted. Once the cache no longer has a cluster, its entry
// says nothing the cache does not (a cluster absent from the cache is inactive either way).
//
// Judging every namespace is O(clusters), and every reconcile did it: O(clusters²) per resync
// (issue 21). A judgment now stands while nothing it read changed: the caches' and the writer's
// revisions and the decided phases are the same as when a judgment left every label as wanted,
// so judging again would change nothing. A no-op resync thus costs O(1) here per cluster; any
// change (a watch event, a write, a new decision) makes the next call judge every namespace again.
// Caches without revisions (tests' fakes) are judged on every call, as before.
import type { Phase } from "../../protocol/intent.ts";
import { ACTIVE_NAMESPACE_LABEL } from "../names.ts";
import { isNotFound } from "../kube/api-error.ts";
import { isActive } from "../policy/phases.ts";
import type { ReconcilerDeps } from "./deps.ts";

type Deps = Pick<ReconcilerDeps, "caches" | "writer">;

interface LabelState {
  /** Decided phases (undefined: gone), and a count of their changes. */
  decided: Map<string, Phase | undefined>;
  decisions: number;
  /** The tail of the serialized calls. */
  tail: Promise<unknown>;
  /** The Elasticsearch cache's revision when `decided` was last pruned (a cluster can only leave the cache with a change). */
  prunedAt?: number;
  /** What the last judgment that left every label as wanted read, and when. */
  settled?: { fingerprint: string; atMs: number };
}

/** Per reconciler (keyed by its caches). */
const state = new WeakMap<object, LabelState>();

/**
 * How long a standing judgment is trusted without any change counted: the writer's read-your-writes
 * overlay expires by time alone (kube/writer.ts), and fresh() counts an expiry only when asked.
 */
const SETTLED_MAX_AGE_MS = 10_000;

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
  if (!s) state.set(d.caches, (s = { decided: new Map(), decisions: 0, tail: Promise.resolve() }));
  const { decided } = s;
  if (!decided.has(key) || decided.get(key) !== phase) {
    decided.set(key, phase); // a gone cluster counts as undefined (inactive) until the cache drops it
    s.decisions++;
  }
  if (!cached(key, d) && decided.delete(key)) s.decisions++;
  const esRevision = d.caches.elasticsearch.revision?.();
  if (esRevision === undefined || esRevision !== s.prunedAt) {
    for (const k of decided.keys()) if (!cached(k, d) && decided.delete(k)) s.decisions++;
    s.prunedAt = esRevision;
  }
  const run = s.tail.then(() => sync(s, d));
  s.tail = run.catch(() => {});
  return run;
}

/**
 * The revisions of everything a judgment reads, as one string (the writer's given apart, so a
 * judgment can add its own patches); undefined when a cache or the writer counts none.
 */
function fingerprint(s: LabelState, d: Deps, ownWrites = 0): string | undefined {
  const { elasticsearch, kibana, clientAuth, activeNamespaces } = d.caches;
  const writer = d.writer.revision?.();
  const parts = [elasticsearch.revision?.(), kibana.revision?.(), clientAuth.revision?.(), activeNamespaces?.revision?.(), s.decisions];
  return writer === undefined || parts.includes(undefined) ? undefined : [...parts, writer + ownWrites].join(",");
}

const cached = (key: string, d: Deps) => {
  const slash = key.indexOf("/");
  return d.caches.elasticsearch.get(key.slice(slash + 1), key.slice(0, slash)) !== undefined;
};

/** How many clusters' decided phases are remembered (for the test that the map stays bounded). */
export function decidedCount(d: Deps): number {
  return state.get(d.caches)?.decided.size ?? 0;
}

async function sync(s: LabelState, d: Deps): Promise<string[]> {
  const before = fingerprint(s, d);
  if (before !== undefined && s.settled?.fingerprint === before && Date.now() - s.settled.atMs < SETTLED_MAX_AGE_MS) return [];
  s.settled = undefined;
  const labelled = d.caches.activeNamespaces!;
  const wanted = wantedNamespaces(d, s.decided);
  // The read-your-writes view: a label just written counts before the watch delivers it.
  const has = (name: string) => d.writer.fresh("Namespace", undefined, name, labelled.get(name))?.metadata?.labels?.[ACTIVE_NAMESPACE_LABEL] === "true";
  const changed: string[] = [];
  let skipped = false;
  const patch = async (name: string, value: "true" | null) => {
    try {
      await d.writer.mergePatch({ apiVersion: "v1", kind: "Namespace", metadata: { name, labels: { [ACTIVE_NAMESPACE_LABEL]: value as string } } });
      changed.push(`${value ? "+" : "-"}${name}`);
    } catch (e) {
      // A namespace being deleted with its clusters: nothing to label.
      if (!isNotFound(e)) throw e;
      skipped = true;
    }
  };
  for (const name of [...wanted].sort()) if (!has(name)) await patch(name, "true");
  for (const ns of labelled.list()) {
    const name = ns.metadata!.name!;
    if (!wanted.has(name) && has(name)) await patch(name, null);
  }
  // It stands only if every label is now as wanted and nothing but its own patches changed meanwhile.
  const after = fingerprint(s, d);
  if (!skipped && after !== undefined && fingerprint(s, d, -changed.length) === before) s.settled = { fingerprint: after, atMs: Date.now() };
  return changed;
}
