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

interface OverlayEntry {
  obj: k8s.KubernetesObject | null; // null: deleted
  resourceVersion?: string;
  at: number;
}

export class Writer {
  private readonly objects: k8s.KubernetesObjectApi;
  private readonly core: k8s.CoreV1Api;
  private readonly custom: k8s.CustomObjectsApi;
  private readonly overlay = new Map<string, OverlayEntry>();
  private changes = 0;

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
   * Whether a watched object is this controller's own write coming back (the version it wrote and
   * still remembers): its reconcile already saw it, so it is queued behind others' changes (issue 21).
   */
  wrote(kind: string, namespace: string | undefined, name: string, resourceVersion: string | undefined): boolean {
    const entry = this.overlay.get(Writer.id(kind, namespace, name));
    return !!entry && entry.obj !== null && resourceVersion !== undefined && entry.resourceVersion === resourceVersion;
  }

  /** Counts what changes fresh()'s answers (writes remembered, entries expired): equal twice, its view did not change between. */
  revision(): number {
    return this.changes;
  }

  /** Server-side apply; the controller owns exactly the fields in `obj`. */
  async apply<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "apply", resource: obj.kind ?? "" });
    const out = await this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
    this.remember(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, out);
    return out as T;
  }

  /** JSON merge patch (removing fields this controller does not own, e.g. a stale annotation). */
  async mergePatch<T extends k8s.KubernetesObject>(obj: T): Promise<T> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "patch", resource: obj.kind ?? "" });
    const out = await this.objects.patch(obj, undefined, undefined, FIELD_MANAGER, undefined, k8s.PatchStrategy.MergePatch);
    this.remember(obj.kind!, obj.metadata?.namespace, obj.metadata!.name!, out);
    return out as T;
  }

  /** Server-side apply of a custom resource's status subresource. */
  async applyStatus(r: CustomResource, namespace: string, name: string, status: unknown): Promise<void> {
    this.checkFence();
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "apply-status", resource: r.kind });
    const out = await this.custom.patchNamespacedCustomObjectStatus(
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
    );
    this.remember(r.kind, namespace, name, out as k8s.KubernetesObject);
  }

  /** Create-only (for content that must not be replaced, such as a freshly generated CA). 409 → the existing object. */
  async createSecret(secret: k8s.V1Secret): Promise<k8s.V1Secret> {
    this.checkFence();
    const namespace = secret.metadata!.namespace!;
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Secret" });
    try {
      const out = await this.core.createNamespacedSecret({ namespace, body: secret, fieldManager: FIELD_MANAGER });
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
    const out = await this.core.replaceNamespacedSecret({
      namespace: secret.metadata!.namespace!,
      name: secret.metadata!.name!,
      body: secret,
      fieldManager: FIELD_MANAGER,
    });
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
