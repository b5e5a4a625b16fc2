// The current intent of every pod, with subscribers (one per open stream). A change is
// pushed once; setting an intent equal to the current one (generation aside) pushes nothing.
// Intents are indexed by the cluster they name, so a cluster's reconcile can withdraw those of pods
// that left its view (issue 18: a stale intent must not outlive the pod's membership).
import type { ClusterRef, Intent } from "../../protocol/intent.ts";
import { canonicalJson } from "../../common/canonical-json.ts";
import { StaleIntentError } from "../errors.ts";

type IntentEvent = { type: "intent"; intent: Intent } | { type: "removed" };
type IntentListener = (event: IntentEvent) => void;
/** What offering an intent did: pushed to the pod's streams, unchanged (generation aside), or stale (refused, the current one stays). */
type IntentOffer = { result: "pushed" } | { result: "unchanged" } | { result: "stale"; reason: string };

export class IntentStore {
  readonly #intents = new Map<string, Intent>();
  /** Each stored intent's content key (contentKey), computed once when it is stored. */
  readonly #keys = new Map<string, string>();
  readonly #listeners = new Map<string, Set<IntentListener>>();
  /** Pod keys by the cluster their intent names. */
  readonly #byCluster = new Map<string, Set<string>>();

  get(namespace: string, name: string): Intent | undefined {
    return this.#intents.get(podKey(namespace, name));
  }

  /**
   * Stores an intent and pushes it to the pod's subscribers. Returns false (and pushes
   * nothing) when only the generation differs from the current one. A changed intent for
   * the same pod UID must carry a higher generation (else StaleIntentError: a caller for whom
   * that is an expected case uses `offer`); a new UID (a re-created pod of the same name)
   * starts its own sequence.
   */
  set(intent: Intent): boolean {
    const outcome = this.offer(intent);
    if (outcome.result === "stale") throw new StaleIntentError(outcome.reason);
    return outcome.result === "pushed";
  }

  /** As `set`, with a stale intent (changed, generation not above the current one) as an answer: nothing is stored or pushed. */
  offer(intent: Intent): IntentOffer {
    const key = podKey(intent.pod.namespace, intent.pod.name);
    const current = this.#intents.get(key);
    const content = contentKey(intent);
    if (current && current.pod.uid === intent.pod.uid) {
      if (this.#keys.get(key) === content) return { result: "unchanged" };
      if (intent.generation <= current.generation) {
        return { result: "stale", reason: `intent for pod ${key} changed but its generation ${intent.generation} is not above ${current.generation}` };
      }
    }
    if (current) this.#unindex(current, key);
    this.#intents.set(key, intent);
    this.#keys.set(key, content);
    const clusterKey = clusterKeyOf(intent.cluster);
    this.#byCluster.set(clusterKey, (this.#byCluster.get(clusterKey) ?? new Set()).add(key));
    this.#emit(key, { type: "intent", intent });
    return { result: "pushed" };
  }

  /** Forgets a pod's intent and tells its subscribers, whose streams then close. */
  remove(namespace: string, name: string): boolean {
    const key = podKey(namespace, name);
    const current = this.#intents.get(key);
    if (!current) return false;
    this.#unindex(current, key);
    this.#intents.delete(key);
    this.#keys.delete(key);
    this.#emit(key, { type: "removed" });
    return true;
  }

  /**
   * Withdraws the intents naming `cluster` of every pod not in `members` (the cluster's view: a
   * Kibana re-pointed or refused, a pod relabelled), as `remove` does. Returns the withdrawn pods.
   */
  withdrawExcept(cluster: ClusterRef, members: Iterable<{ namespace: string; name: string }>): { namespace: string; name: string }[] {
    const held = this.#byCluster.get(clusterKeyOf(cluster));
    if (!held) return [];
    const keep = new Set<string>();
    for (const m of members) keep.add(podKey(m.namespace, m.name));
    const withdrawn: { namespace: string; name: string }[] = [];
    for (const key of [...held]) {
      if (keep.has(key)) continue;
      const { namespace, name } = this.#intents.get(key)!.pod;
      this.remove(namespace, name);
      withdrawn.push({ namespace, name });
    }
    return withdrawn;
  }

  /** The cluster a pod's current intent names, if it has one (to queue that cluster when the pod or its Kibana changes). */
  clusterOf(namespace: string, name: string): ClusterRef | undefined {
    return this.#intents.get(podKey(namespace, name))?.cluster;
  }

  #unindex(intent: Intent, key: string): void {
    const clusterKey = clusterKeyOf(intent.cluster);
    const held = this.#byCluster.get(clusterKey);
    held?.delete(key);
    if (held?.size === 0) this.#byCluster.delete(clusterKey);
  }

  subscribe(namespace: string, name: string, listener: IntentListener): () => void {
    const key = podKey(namespace, name);
    const listeners = this.#listeners.get(key) ?? new Set();
    listeners.add(listener);
    this.#listeners.set(key, listeners);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#listeners.delete(key);
    };
  }

  subscriberCount(namespace: string, name: string): number {
    return this.#listeners.get(podKey(namespace, name))?.size ?? 0;
  }

  #emit(key: string, event: IntentEvent): void {
    for (const listener of [...(this.#listeners.get(key) ?? [])]) listener(event);
  }
}

function podKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function clusterKeyOf(cluster: ClusterRef): string {
  return `${cluster.namespace}/${cluster.name}`;
}

/**
 * An intent's content, generation aside, for "did anything change". The bundle counts by its
 * sha256 (the agent checks the PEM against it), so a 900 KiB bundle is not serialised for each
 * of a cluster's pods on every reconcile (bench/propagation.ts profiled that at 22 % of the CPU).
 */
function contentKey(intent: Intent): string {
  const { generation: _g, trustBundle, ...rest } = intent;
  return canonicalJson({ ...rest, ...(trustBundle ? { trustBundle: trustBundle.sha256 } : {}) });
}
