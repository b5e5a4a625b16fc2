// The controller's view of the cluster: list+watch caches, narrowed by label and
// field selectors so the controller never holds every Secret or Pod in memory.
// A watch that fails is restarted with capped backoff; callers see one change stream.
// Labelled client-certificate Secrets carry a label anyone may set, so their cache holds
// metadata only (PartialObjectMetadata); their data is read on demand when a bundle is built.
// So do es-mtls's own Secrets in workload namespaces (the managed-by label is just as open): the
// data of those that pass the ownership check is read on demand. CA Secrets live in the
// controller's namespace, which only the controller and admins write: cached whole, there only.
// Pods, Elasticsearches, Kibanas and the metadata-only Secrets keep only the fields the controller
// reads, the others all but managedFields (kube/cached-fields.ts, applied to every listed and watched
// object before it is stored); initial lists come in pages (listInPages), trimmed page by page.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { Backoff } from "../../common/backoff.ts";
import { apiErrorMessage } from "./api-error.ts";
import {
  CLIENT_AUTHENTICATION,
  ELASTICSEARCH,
  KIBANA,
  type ClientAuthentication,
  type CustomResource,
  type Elasticsearch,
  type Kibana,
} from "../resources.ts";
import { ECK_TYPE_LABEL, LICENSING_CONFIGMAP, CLIENT_CERTIFICATE_LABEL, ACTIVE_NAMESPACE_LABEL, MANAGED_BY, MANAGED_BY_LABEL } from "../names.ts";
import { secretReader, WholeSecretKeeper, type KeptSecret, type SecretReader } from "./secret-reader.ts";
import { listInPages, type ListPageFn } from "./paged-list.ts";
import { ChurnCollector } from "./churn-collector.ts";
import { cachedElasticsearch, cachedKibana, cachedPod, cachedSecretMetadata, withoutManagedFields } from "./cached-fields.ts";
import { EckLicensing, type LicensingSource } from "./eck-licensing.ts";

export type Kind = "elasticsearch" | "kibana" | "clientauth" | "clientCertSecret" | "managedSecret" | "pod" | "license" | "namespace";
type ChangeHandler = (kind: Kind, obj: k8s.KubernetesObject, type: "add" | "update" | "delete") => void;

/** A read-only view of one cache: what readers (reconciler, webhooks) need, and what tests fake. */
export interface ObjectCache<T> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  /** Counts the cache's changes (add, update, delete): equal twice, nothing in it changed between. Fakes may leave it out. */
  revision?(): number;
  /** The changes since `revision`, in order; undefined when they are no longer kept (then read the whole cache). Fakes may leave it out. */
  changesSince?(revision: number): readonly CacheChange<T>[] | undefined;
}

/** One change of a cache: the object as added or updated, or as it was when deleted. */
export type CacheChange<T> = { type: "add" | "update" | "delete"; obj: T };
/** Changes kept per cache for changesSince: a change's reconcile updates an index, not rebuild it over 10,000 Secrets (issue 21). */
const JOURNAL_LIMIT = 1024;

/** Metadata of Secrets with es-mtls's label, cluster-wide, and the whole of those that are truly its own. */
export interface ManagedSecretCache extends ObjectCache<k8s.V1Secret> {
  /**
   * The whole Secret behind `meta` (from this cache), read on demand and kept by resourceVersion
   * until it is deleted; undefined once gone. Only for Secrets that passed policy/ownership.ts.
   * The trust bundle's value is only a digest, in `dataSha256` (WholeSecretKeeper). */
  load(meta: k8s.V1Secret): Promise<KeptSecret | undefined>;
}

/** Every cache the reconciler reads, as views. */
export interface CacheViews {
  readonly elasticsearch: ObjectCache<Elasticsearch>;
  readonly kibana: ObjectCache<Kibana>;
  readonly clientAuth: ObjectCache<ClientAuthentication>;
  /** Labelled client-certificate Secrets, metadata only: never `data` (read it with kube/secret-reader.ts). */
  readonly clientCertSecrets: ObjectCache<k8s.V1Secret>;
  /** es-mtls's Secrets in workload namespaces (internal client cert, trust bundle): metadata only. */
  readonly managedSecrets: ManagedSecretCache;
  /** es-mtls's CA Secrets, whole, in the controller's namespace only. */
  readonly caSecrets: ObjectCache<k8s.V1Secret>;
  readonly pods: ObjectCache<k8s.V1Pod>;
  /** ECK's licensing: whether ECK is installed, and its licence ConfigMap when it is. */
  readonly licensing: LicensingSource;
  /** Namespaces carrying ACTIVE_NAMESPACE_LABEL (optional: fakes without one skip the label step). */
  readonly activeNamespaces?: ObjectCache<k8s.V1Namespace>;
}

/** Accept headers that make the apiserver answer with metadata only (list, and each watch event). */
export const METADATA_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1";
const METADATA = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1";

/**
 * client-node's Watch (1.4) takes no headers, but asks its KubeConfig for the fetch options of
 * every request: this view of `kc` adds the metadata-only Accept header there.
 */
export function metadataOnly(kc: k8s.KubeConfig): k8s.KubeConfig {
  const applyToFetchOptions = (opts: Parameters<k8s.KubeConfig["applyToFetchOptions"]>[0]) => kc.applyToFetchOptions({ ...opts, headers: { ...opts.headers, Accept: METADATA } });
  return Object.create(kc, { applyToFetchOptions: { value: applyToFetchOptions } }) as k8s.KubeConfig;
}

/** A Watch whose events carry `keep(object)`: ListWatch stores what its watch callback receives. */
function keepingWatch<T extends k8s.KubernetesObject>(kc: k8s.KubeConfig, keep: (o: T) => T): k8s.Watch {
  const watch = new k8s.Watch(kc);
  const inner = watch.watch.bind(watch);
  watch.watch = (path, query, callback, done) =>
    inner(path, query, (phase: string, obj: any, raw: any) => callback(phase, phase === "ERROR" || phase === "BOOKMARK" ? obj : keep(obj as T), raw), done);
  return watch;
}

class Cache<T extends k8s.KubernetesObject> implements ObjectCache<T> {
  readonly informer: k8s.ListWatch<T>;
  /** Restarts of a failed watch: 0.5 s doubling to 30 s, the project's one jitter rule. */
  private readonly restarts = new Backoff({ minMs: 500, maxMs: 30_000 });
  private stopped = false;
  synced = false;
  /** The list succeeded once: list() is the apiserver's answer, not an empty start. */
  loaded = false;
  /** Why it is not loaded yet: the last failed list or watch before the first success. */
  failure: unknown;
  private failures = 0;
  private readonly stateListeners: Array<() => void> = [];
  private changes = 0;
  private journal: CacheChange<T>[] = []; // the last changes; the last one made revision `changes`

  constructor(
    readonly kind: Kind,
    /** What the watch connects with (metadataOnly(kc) for a metadata cache). */
    kc: k8s.KubeConfig,
    path: string,
    listFn: ListPageFn<T>,
    onChange: ChangeHandler,
    labelSelector?: string,
    fieldSelector?: string,
    /** What to keep of each object (kube/cached-fields.ts); everything when absent. */
    keep?: (obj: T) => T,
  ) {
    const watch = keep ? keepingWatch(kc, keep) : new k8s.Watch(kc);
    this.informer = new k8s.ListWatch<T>(path, watch, () => listInPages(listFn, keep), false, labelSelector, fieldSelector);
    for (const type of ["add", "update", "delete"] as const) {
      this.informer.on(type, (obj) => {
        this.changes++;
        this.journal.push({ type, obj });
        if (this.journal.length > JOURNAL_LIMIT) this.journal = this.journal.slice(JOURNAL_LIMIT / 2);
        onChange(kind, obj, type);
      });
    }
    this.informer.on("connect", () => {
      this.synced = true;
      this.restarts.reset();
    });
    this.informer.on("error", (err) => {
      if (this.stopped) return;
      this.failures++;
      if (!this.loaded) this.failure = err;
      for (const listener of this.stateListeners) listener();
      const retryMs = this.restarts.next();
      log.warn("watch failed; restarting", { resource: kind, error: apiErrorMessage(err), retryMs });
      setTimeout(() => void this.start(), retryMs).unref?.();
    });
  }

  async start() {
    if (this.stopped) return;
    const failures = this.failures;
    try {
      await this.informer.start();
      this.synced = true;
      // informer.start() resolves after the list, or after reporting its failure.
      if (this.failures === failures && !this.stopped) {
        this.loaded = true;
        this.failure = undefined;
        for (const listener of this.stateListeners) listener();
      }
    } catch (err) {
      // the error handler above schedules the retry
      log.debug("initial list failed", { resource: this.kind, error: String(err) });
    }
  }

  /** `listener` runs when it loads or fails (for views that depend on whether the list succeeded). */
  onState(listener: () => void): void {
    this.stateListeners.push(listener);
  }

  async stop() {
    this.stopped = true;
    await this.informer.stop().catch(() => {});
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }

  revision(): number {
    return this.changes;
  }

  changesSince(revision: number): readonly CacheChange<T>[] | undefined {
    const base = this.changes - this.journal.length; // the revision before the first change kept
    return revision < base || revision > this.changes ? undefined : this.journal.slice(revision - base);
  }
}

/** A metadata-only Secret cache whose Secrets' data is read on demand (load), kept per resourceVersion. */
class ManagedSecrets extends Cache<k8s.V1Secret> implements ManagedSecretCache {
  readonly data = new WholeSecretKeeper();

  constructor(kind: Kind, source: MetadataSource, onChange: ChangeHandler, private readonly readSecret: SecretReader) {
    super(kind, source.kc, source.path, source.listFn, onChange, source.selector, undefined, cachedSecretMetadata);
    this.informer.on("delete", (obj) => this.data.forget(obj.metadata!.namespace!, obj.metadata!.name!));
  }

  load(meta: k8s.V1Secret): Promise<KeptSecret | undefined> {
    return this.data.read(meta, this.readSecret);
  }
}

/** How a metadata-only cache of the Secrets carrying `selector` lists and watches, cluster-wide. */
type MetadataSource = { kc: k8s.KubeConfig; path: string; listFn: ListPageFn<k8s.V1Secret>; selector: string };
function secretMetadata(kc: k8s.KubeConfig, core: k8s.CoreV1Api, selector: string): MetadataSource {
  return { kc: metadataOnly(kc), path: "/api/v1/secrets", listFn: (page) => core.listSecretForAllNamespaces({ labelSelector: selector, ...page }, k8s.setHeaderOptions("Accept", METADATA_LIST)), selector };
}

export class Caches implements CacheViews {
  readonly elasticsearch: Cache<Elasticsearch>;
  readonly kibana: Cache<Kibana>;
  readonly clientAuth: Cache<ClientAuthentication>;
  /** Secrets labelled eck.k8s.elastic.co/client-certificate=true, cluster-wide: metadata only. */
  readonly clientCertSecrets: Cache<k8s.V1Secret>;
  /** Secrets with es-mtls's label, cluster-wide: metadata only; the data of own ones on demand. */
  readonly managedSecrets: ManagedSecrets;
  /** es-mtls's client CA Secrets, whole, in the controller's namespace only. */
  readonly caSecrets: Cache<k8s.V1Secret>;
  /** Elasticsearch and Kibana pods (ECK's type label). */
  readonly pods: Cache<k8s.V1Pod>;
  /** The operator namespace, and ECK's elastic-licensing ConfigMap while that exists. */
  readonly licensing: EckLicensing;
  /** Namespaces labelled ACTIVE_NAMESPACE_LABEL=true (reconcile/namespace-label.ts keeps the label). */
  readonly activeNamespaces: Cache<k8s.V1Namespace>;

  constructor(kc: k8s.KubeConfig, operatorNamespace: string, controllerNamespace: string, handler: ChangeHandler) {
    const churn = new ChurnCollector();
    const onChange: ChangeHandler = (kind, obj, type) => {
      handler(kind, obj, type);
      churn.note();
    };
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const cr = <T extends k8s.KubernetesObject>(kind: Kind, r: CustomResource, keep?: (o: T) => T) =>
      new Cache<T>(kind, kc, `/apis/${r.group}/${r.version}/${r.plural}`, (page) => custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural, ...page }), onChange, undefined, undefined, keep);
    this.elasticsearch = cr<Elasticsearch>("elasticsearch", ELASTICSEARCH, cachedElasticsearch);
    this.kibana = cr<Kibana>("kibana", KIBANA, cachedKibana);
    this.clientAuth = cr<ClientAuthentication>("clientauth", CLIENT_AUTHENTICATION, withoutManagedFields);
    const clientCertSelector = `${CLIENT_CERTIFICATE_LABEL}=true`;
    const clientCert = secretMetadata(kc, core, clientCertSelector);
    this.clientCertSecrets = new Cache("clientCertSecret", clientCert.kc, clientCert.path, clientCert.listFn, onChange, clientCert.selector, undefined, cachedSecretMetadata);
    const managedSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    this.managedSecrets = new ManagedSecrets("managedSecret", secretMetadata(kc, core, managedSelector), onChange, secretReader(core));
    // The same kind for the change handler: a CA Secret names its cluster by labels either way.
    this.caSecrets = new Cache(
      "managedSecret",
      kc,
      `/api/v1/namespaces/${controllerNamespace}/secrets`,
      (page) => core.listNamespacedSecret({ namespace: controllerNamespace, labelSelector: managedSelector, ...page }),
      onChange,
      managedSelector,
      undefined,
      withoutManagedFields,
    );
    const podSelector = `${ECK_TYPE_LABEL} in (elasticsearch,kibana)`;
    this.pods = new Cache("pod", kc, "/api/v1/pods", (page) => core.listPodForAllNamespaces({ labelSelector: podSelector, ...page }), onChange, podSelector, undefined, cachedPod);
    const named = (name: string) => `metadata.name=${name}`;
    const licensingChanged = { metadata: { name: LICENSING_CONFIGMAP, namespace: operatorNamespace } };
    const watched = <T extends k8s.KubernetesObject>(path: string, list: ListPageFn<T>, field: string) => (changed: () => void) => {
      const cache = new Cache<T>("license", kc, path, list, () => changed(), undefined, field);
      cache.onState(changed);
      return cache;
    };
    this.licensing = new EckLicensing(
      operatorNamespace,
      {
        namespace: watched("/api/v1/namespaces", (page) => core.listNamespace({ fieldSelector: named(operatorNamespace), ...page }), named(operatorNamespace)),
        configMap: watched(`/api/v1/namespaces/${operatorNamespace}/configmaps`, (page) => core.listNamespacedConfigMap({ namespace: operatorNamespace, fieldSelector: named(LICENSING_CONFIGMAP), ...page }), named(LICENSING_CONFIGMAP)),
      },
      () => onChange("license", licensingChanged, "update"),
    );
    const activeSelector = `${ACTIVE_NAMESPACE_LABEL}=true`;
    this.activeNamespaces = new Cache("namespace", kc, "/api/v1/namespaces", (page) => core.listNamespace({ labelSelector: activeSelector, ...page }), onChange, activeSelector, undefined, withoutManagedFields);
  }

  private all() {
    return [this.elasticsearch, this.kibana, this.clientAuth, this.clientCertSecrets, this.managedSecrets, this.caSecrets, this.pods, this.activeNamespaces] as Cache<k8s.KubernetesObject>[];
  }

  async start(): Promise<void> {
    await Promise.all([...this.all().map((c) => c.start()), this.licensing.start()]);
  }

  get synced(): boolean {
    return this.all().every((c) => c.synced) && this.licensing.synced;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.all().map((c) => c.stop()), this.licensing.stop()]);
  }
}
