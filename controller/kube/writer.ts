// Every write the controller makes goes through here: server-side apply with the
// es-mtls field manager, counted per verb and resource. Until the watch delivers
// an object the controller just wrote, readers see the written version (a short
// read-your-writes overlay), so a quick second reconcile never writes it twice.
import * as k8s from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../names.ts";
import type { CustomResource } from "../resources.ts";
import { metrics } from "../metrics.ts";
import { isAlreadyExists, isConflict, isNotFound, isTooManyRequests } from "./api-error.ts";
import { NotLeaderError } from "../errors.ts";
import { withoutManagedFields } from "./cached-fields.ts";

const OVERLAY_TTL_MS = 10_000;
/** How long a written version waits for its watch event: an initial sync of 1,000 clusters delays watch events by seconds. */
const ECHO_TTL_MS = 60_000;

interface OverlayEntry {
  obj: k8s.KubernetesObject | null; // null: deleted
  resourceVersion?: string;
  at: number;
}

const rvOf = (o: k8s.KubernetesObject | undefined): string | undefined => o?.metadata?.resourceVersion;

export class Writer {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly overlay = new Map<string, OverlayEntry>();
  private changes = 0;
  /** Versions this controller wrote, until they expire ("kind/ns/name#rv" → when written). */
  private readonly written = new Map<string, number>();
  private sweepWrittenAt = 1024;
  /** Per object, writes awaiting their response, and watch events waiting for those responses to tell whether they are echoes. */
  private readonly inFlight = new Map<string, { writes: number; waiting: Array<{ resourceVersion: string; then: (echo: boolean) => void }> }>();

  /**
   * Asked before every write: false once this replica stopped leading. A leader frozen past its renew
   * deadline (SIGSTOP, a long GC pause) resumes with requests in flight; none may reach the apiserver
   * after another replica may have taken over (the elector's \`leading\` is false from the deadline on).
   */
  fence: () => boolean = () => true;

  private checkFence(): void {
    if (!this.fence()) throw new NotLeaderError("not the leader any more: write refused");
  }

  constructor(kc: k8s.KubeConfig) {
    this.objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
  }

  private static id(kind: string, namespace: string | undefined, name: string) {
    return `${kind}/${namespace ?? ""}/${name}`;
  }

  private remember(kind: string, namespace: string | undefined, name: string, obj: k8s.KubernetesObject | null) {
    this.changes++;
    const now = Date.now();
    this.overlay.set(Writer.id(kind, namespace, name), { obj: obj && withoutManagedFields(obj), resourceVersion: obj?.metadata?.resourceVersion, at: now });
    if (this.overlay.size >= this.sweepAt) this.sweep(now);
  }

  /** Overlay size at which expired entries are swept: an entry nobody asks fresh() for again would stay otherwise (issue 21). */
  private sweepAt = 256;

  private sweep(now: number) {
    for (const [id, entry] of this.overlay) {
      if (now - entry.at <= OVERLAY_TTL_MS) continue;
      this.overlay.delete(id);
      this.changes++; // fresh() may now answer the cache's version
    }
    this.sweepAt = Math.max(256, 2 * this.overlay.size);
  }

  /** The freshest known version: the cached one, unless this controller wrote a newer one the cache has not seen. */
  fresh<T extends k8s.KubernetesObject>(kind: string, namespace: string | undefined, name: string, cached: T | undefined): T | undefined {
    const id = Writer.id(kind, namespace, name);
    const entry = this.overlay.get(id);
    if (!entry) return cached;
    const caughtUp = entry.obj === null ? cached === undefined : cached?.metadata?.resourceVersion === entry.resourceVersion;
    if (caughtUp || Date.now() - entry.at > OVERLAY_TTL_MS) {
      if (!caughtUp) this.changes++; // the view goes back to the cache's: fresh() answers differently
      this.overlay.delete(id);
      return cached;
    }
    return (entry.obj ?? undefined) as T | undefined;
  }

  /**
   * Calls `then(true)` when a watched version is this controller's own write coming back (its
   * reconcile already saw it, so it is queued behind others' changes; issue 21), `then(false)` when
   * not. Any version it wrote counts, not only the last (a status applied after its object, two
   * writes before either echo), and an event that arrives before its write's response waits for
   * the writes in flight to that object: once one answered with its version, it is an echo, once
   * all answered otherwise, it is not. A version stays an echo until it expires: two caches watch a
   * CA Secret (the CA cache and the managed-by one), and each delivers it.
   */
  classify(kind: string, namespace: string | undefined, name: string, resourceVersion: string | undefined, then: (echo: boolean) => void): void {
    if (resourceVersion === undefined) return then(false);
    const id = Writer.id(kind, namespace, name);
    if (this.written.has(`${id}#${resourceVersion}`)) return then(true);
    const pending = this.inFlight.get(id);
    if (!pending) return then(false);
    pending.waiting.push({ resourceVersion, then });
  }

  /** Runs `write` on one object, recording the version it answers as this controller's own. */
  private async tracked<T>(kind: string, namespace: string | undefined, name: string, write: () => Promise<T>, versionOf: (out: T) => string | undefined): Promise<T> {
    const id = Writer.id(kind, namespace, name);
    const pending = this.inFlight.get(id) ?? { writes: 0, waiting: [] };
    pending.writes++;
    this.inFlight.set(id, pending);
    try {
      const out = await write();
      const rv = versionOf(out);
      if (rv !== undefined) this.recordWritten(`${id}#${rv}`);
      return out;
    } finally {
      pending.writes--;
      if (pending.writes === 0) this.inFlight.delete(id);
      // Events that waited: an echo once a response named their version; not one once no write is left.
      const still = pending.waiting.filter((w) => {
        if (this.written.has(`${id}#${w.resourceVersion}`)) w.then(true);
        else if (pending.writes === 0) w.then(false);
        else return true;
        return false;
      });
      pending.waiting = still;
    }
  }

  private recordWritten(versionId: string) {
    const now = Date.now();
    this.written.set(versionId, now);
    // Entries go by age alone (a version may come back once per cache watching it).
    if (this.written.size < this.sweepWrittenAt) return;
    for (const [k, at] of this.written) if (now - at > ECHO_TTL_MS) this.written.delete(k);
    this.sweepWrittenAt = Math.max(1024, 2 * this.written.size);
  }

  /** Counts what changes fresh()'s answers (writes remembered, entries expired): equal twice, its view did not change between. */
  revision(): number {
    return this.changes;
  }

  /** Server-side apply; the controller owns exactly the fields in `obj`. */
  async apply<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "apply", resource: obj.kind ?? "" });
    const out = await this.tracked(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, () => this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply), rvOf);
    this.remember(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, out);
    return out as T;
  }

  /** JSON merge patch (removing fields this controller does not own, e.g. a stale annotation). */
  async mergePatch<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "patch", resource: obj.kind ?? "" });
    const out = await this.tracked(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, () => this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch), rvOf);
    this.remember(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, out);
    return out as T;
  }

  /** Server-side apply of a custom resource's status subresource. */
  async applyStatus(r: CustomResource, namespace: string, name: string, status: unknown): Promise<void> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "apply-status", resource: r.kind });
    const out = await this.tracked(r.kind, namespace, name, () => this.custom.patchNamespacedCustomObjectStatus(
      {
        group: r.group,
        version: r.version,
        plural: r.plural,
        namespace,
        name,
        body: { apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name, namespace }, status },
        fieldManager: FIELD_MANAGER,
        force: true,
      },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.ServerSideApply),
    ), (o) => rvOf(o as k8s.KubernetesObject));
    this.remember(r.kind, namespace, name, out as k8s.KubernetesObject);
  }

  /** Create-only (for content that must not be replaced, such as a freshly generated CA). 409 → the existing object. */
  async createSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    this.checkFence();
    const namespace = secret.metadata!.namespace!;
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Secret" });
    try {
      const out = await this.tracked("Secret", namespace, secret.metadata!.name!, () => this.core.createNamespacedSecret({ namespace, body: secret, fieldManager: FIELD_MANAGER }), rvOf);
      this.remember("Secret", namespace, secret.metadata!.name!, out);
      return out;
    } catch (e) {
      if (!isAlreadyExists(e)) throw e;
      return this.core.readNamespacedSecret({ namespace, name: secret.metadata!.name! });
    }
  }

  /** Replaces a Secret only if it is still at `resourceVersion` (optimistic concurrency for rotations). */
  async replaceSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "update", resource: "Secret" });
    const out = await this.tracked("Secret", secret.metadata!.namespace, secret.metadata!.name!, () => this.core.replaceNamespacedSecret({
      namespace: secret.metadata!.namespace!,
      name: secret.metadata!.name!,
      body: secret,
      fieldManager: FIELD_MANAGER,
    }), rvOf);
    this.remember("Secret", secret.metadata!.namespace, secret.metadata!.name!, out);
    return out;
  }

  /** Evicts a pod through the Eviction API, so PodDisruptionBudgets are honoured. False when a budget refuses now (429). */
  async evict(namespace: string, name: string): Promise<boolean> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Eviction" });
    try {
      await this.core.createNamespacedPodEviction({ name, namespace, body: { apiVersion: "policy/v1", kind: "Eviction", metadata: { name, namespace } } });
      return true;
    } catch (e) {
      if (isTooManyRequests(e)) return false;
      if (isNotFound(e)) return true; // already gone
      throw e;
    }
  }

  /** `uid`: delete only that very object (a precondition), never one re-created under the same name meanwhile. */
  async deleteSecret(namespace: string, name: string, uid?: string): Promise<void> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "delete", resource: "Secret" });
    try {
      await this.core.deleteNamespacedSecret({ namespace, name, ...(uid ? { body: { preconditions: { uid } } } : {}) });
    } catch (e) {
      if (!isNotFound(e) && !(uid && isConflict(e))) throw e;
    }
    this.remember("Secret", namespace, name, null);
  }
}
