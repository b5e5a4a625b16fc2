// Fakes of the cluster reconciler's collaborators (caches, writer, events) and a harness that
// builds a ClusterReconciler on them, with the real in-memory intent and report stores. The fake
// writer feeds what it writes back into the caches at once, as the watch would.
import type { KubernetesObject, V1ConfigMap, V1Pod, V1Secret } from "@kubernetes/client-node";
import { ClusterReconciler } from "../../controller/reconcile/cluster.ts";
import type { ClusterWriter, EventSink } from "../../controller/reconcile/deps.ts";
import type { CacheViews, ManagedSecretCache, ObjectCache } from "../../controller/kube/informers.ts";
import { WholeSecretKeeper } from "../../controller/kube/secret-reader.ts";
import { cachedElasticsearch, cachedKibana, cachedPod } from "../../controller/kube/cached-fields.ts";
import type { ClientAuthentication, ClientAuthenticationStatus, CustomResource, Elasticsearch } from "../../controller/resources.ts";
import { IntentStore } from "../../controller/intent-api/intent-store.ts";
import { ReportStore } from "../../controller/reconcile/reports.ts";
import { referenceAuthorizer } from "../../controller/kube/reference-authorizer.ts";
import type { LicensingSource } from "../../controller/kube/eck-licensing.ts";
import type { LicensingObservation } from "../../controller/policy/license.ts";
import type { Enforcement, StatusReport } from "../../protocol/intent.ts";
import type { CrdSupport } from "../../controller/kube/crd-support.ts";

export const NS = "prod";
export const ES_NAME = "quickstart";
/** The controller's namespace, where CA Secrets live. */
export const CA_NS = "es-mtls-system";
const KEY = `${NS}/${ES_NAME}`;
const HOUR = 3_600_000;

export class FakeCache<T extends KubernetesObject> implements ObjectCache<T> {
  readonly items = new Map<string, T>();
  /** `keep`: what the real cache keeps of each object (kube/cached-fields.ts), so the reconciler is tested on that. */
  constructor(private readonly keep?: (obj: T) => T) {}
  put(obj: T) {
    this.items.set(`${obj.metadata?.namespace ?? ""}/${obj.metadata!.name}`, this.keep ? this.keep(obj) : obj);
  }
  delete(namespace: string, name: string) {
    this.items.delete(`${namespace}/${name}`);
  }
  list(namespace?: string): readonly T[] {
    return [...this.items.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
  get(name: string, namespace?: string): T | undefined {
    return this.items.get(`${namespace ?? ""}/${name}`);
  }
}

let storedVersion = 0;

/**
 * The labelled-Secret cache as the controller's: metadata only (kube/informers.ts). `stored` is what
 * the apiserver holds, which the fake readSecret serves; each put is a new resourceVersion.
 */
export class MetadataFakeCache extends FakeCache<V1Secret> {
  readonly stored = new Map<string, V1Secret>();
  override put(obj: V1Secret) {
    const full = { ...obj, metadata: { ...obj.metadata, resourceVersion: `stored-${++storedVersion}` } };
    this.stored.set(`${obj.metadata?.namespace ?? ""}/${obj.metadata!.name}`, full);
    const { data: _data, stringData: _stringData, ...meta } = full;
    super.put(meta);
  }
  override delete(namespace: string, name: string) {
    this.stored.delete(`${namespace}/${name}`);
    super.delete(namespace, name);
  }
}

/**
 * es-mtls's own Secrets in workload namespaces as the controller caches them: metadata only, the
 * whole Secret loaded on demand through the real keeper (kept per resourceVersion). `reads` lists
 * every load that reached the "apiserver".
 */
export class ManagedFakeCache extends MetadataFakeCache implements ManagedSecretCache {
  readonly reads: string[] = [];
  private readonly keeper = new WholeSecretKeeper();
  load(meta: V1Secret): Promise<V1Secret | undefined> {
    return this.keeper.read(meta, async (namespace, name) => {
      this.reads.push(`${namespace}/${name}`);
      return this.stored.get(`${namespace}/${name}`);
    });
  }
  /** The whole Secret as the apiserver holds it (what a test inspects). */
  whole(name: string, namespace: string): V1Secret | undefined {
    return this.stored.get(`${namespace}/${name}`);
  }
}

/** ECK's licensing as the fakes show it: no ECK (its namespace absent) until a test puts ECK's ConfigMap or sets an observation. */
class FakeLicensing implements LicensingSource {
  observation: LicensingObservation = { eck: "absent", namespace: "elastic-system" };
  /** ECK installed, with this `elastic-licensing` ConfigMap. */
  put(cm: V1ConfigMap): void {
    this.observation = { eck: "installed", namespace: "elastic-system", configMap: cm };
  }
  observe(): LicensingObservation {
    return this.observation;
  }
}

type Views = Omit<CacheViews, "managedSecrets" | "licensing">;
type Caches = { [K in keyof Views]: Views[K] extends ObjectCache<infer T> ? FakeCache<T & KubernetesObject> : never } & { managedSecrets: ManagedFakeCache; licensing: FakeLicensing };

export function fakeCaches(): Caches {
  return {
    elasticsearch: new FakeCache(cachedElasticsearch),
    kibana: new FakeCache(cachedKibana),
    clientAuth: new FakeCache(),
    clientCertSecrets: new MetadataFakeCache(),
    managedSecrets: new ManagedFakeCache(),
    caSecrets: new FakeCache(),
    pods: new FakeCache(cachedPod),
    licensing: new FakeLicensing(),
  };
}

/** Records every write and plays it back into the caches. */
export class FakeWriter implements ClusterWriter {
  writes: string[] = [];
  private rv = 0;
  constructor(private readonly caches: Caches) {}
  fresh<T extends KubernetesObject>(_kind: string, _namespace: string | undefined, _name: string, cached: T | undefined): T | undefined {
    return cached;
  }
  async apply<T extends KubernetesObject>(obj: T): Promise<T> {
    this.writes.push(`apply ${obj.kind} ${obj.metadata!.name}`);
    const ns = obj.metadata!.namespace!;
    const name = obj.metadata!.name!;
    if (obj.kind === "Secret") this.secrets(ns).put(this.stamp({ ...(obj as V1Secret) }));
    else if (obj.kind === "Elasticsearch") {
      const es = this.caches.elasticsearch.get(name, ns)!;
      es.metadata.annotations = { ...es.metadata.annotations, ...obj.metadata!.annotations };
    } else if (obj.kind === "ClientAuthentication") this.caches.clientAuth.put({ ...(obj as unknown as ClientAuthentication) });
    return obj;
  }
  async mergePatch<T extends KubernetesObject>(obj: T): Promise<T> {
    this.writes.push(`patch ${obj.kind} ${obj.metadata!.name}`);
    if (obj.kind === "Secret") {
      const store = this.caches.managedSecrets;
      const stored = store.stored.get(`${obj.metadata!.namespace}/${obj.metadata!.name}`);
      if (!stored) throw new Error(`secrets "${obj.metadata!.name}" not found`);
      store.put(this.stamp({ ...stored, metadata: { ...stored.metadata, annotations: { ...stored.metadata?.annotations, ...obj.metadata!.annotations } } }));
      return obj;
    }
    const es = this.caches.elasticsearch.get(obj.metadata!.name!, obj.metadata!.namespace)!;
    const annotations = { ...es.metadata.annotations };
    for (const [k, v] of Object.entries(obj.metadata!.annotations ?? {})) if (v === null) delete annotations[k];
    es.metadata.annotations = annotations;
    return obj;
  }
  /** Set: status writes fail with it (the apiserver refusing or timing out a large status). */
  failStatus: Error | undefined;
  async applyStatus(r: CustomResource, namespace: string, name: string, status: unknown): Promise<void> {
    if (this.failStatus) throw this.failStatus;
    this.writes.push(`status ${r.kind} ${name}`);
    const ca = this.caches.clientAuth.get(name, namespace)!;
    this.caches.clientAuth.put({ ...ca, status: structuredClone(status) as ClientAuthenticationStatus });
  }
  async createSecret(secret: V1Secret): Promise<V1Secret> {
    this.writes.push(`create Secret ${secret.metadata!.name}`);
    const stored = this.stamp({ ...secret });
    this.secrets(secret.metadata!.namespace!).put(stored);
    return stored;
  }
  async replaceSecret(secret: V1Secret): Promise<V1Secret> {
    this.writes.push(`replace Secret ${secret.metadata!.name}`);
    const stored = this.stamp({ ...secret });
    this.secrets(secret.metadata!.namespace!).put(stored);
    return stored;
  }
  async evict(_namespace: string, name: string): Promise<boolean> {
    this.writes.push(`evict Pod ${name}`);
    return true;
  }
  async deleteSecret(namespace: string, name: string): Promise<void> {
    this.writes.push(`delete Secret ${name}`);
    this.secrets(namespace).delete(namespace, name);
  }
  /** CA Secrets live in the controller's namespace, cached whole; the others metadata only. */
  private secrets(namespace: string): FakeCache<V1Secret> {
    return namespace === CA_NS ? this.caches.caSecrets : this.caches.managedSecrets;
  }
  private stamp(secret: V1Secret): V1Secret {
    secret.metadata = { ...secret.metadata, resourceVersion: String(++this.rv), uid: `uid-${secret.metadata!.name}` };
    return secret;
  }
}

export class FakeEvents implements EventSink {
  recorded: string[] = [];
  /** The same Events with the kind of object they were recorded on. */
  byKind: Array<{ kind: string; type: string; reason: string; message: string }> = [];
  async record(target: { kind: string }, type: "Normal" | "Warning", reason: string, message: string): Promise<boolean> {
    this.recorded.push(`${type} ${reason}: ${message}`);
    this.byKind.push({ kind: target.kind, type, reason, message });
    return true;
  }
}

export function elasticsearch(authentication: boolean): Elasticsearch {
  return {
    apiVersion: "elasticsearch.k8s.elastic.co/v1",
    kind: "Elasticsearch",
    metadata: { name: ES_NAME, namespace: NS, uid: "es-uid", generation: 1 },
    spec: { http: { tls: { client: { authentication } } } },
  };
}

/** ECK's `elastic-licensing` ConfigMap (only tests of ECK's licence rule need one). */
export function license(level: string, expiry?: string): V1ConfigMap {
  return { metadata: { name: "elastic-licensing", namespace: "elastic-system" }, data: { eck_license_level: level, ...(expiry ? { eck_license_expiry_date: expiry } : {}) } };
}

/** What the controller observes with ECK installed and that licence. */
export function eckLicensing(level: string, expiry?: string): LicensingObservation {
  return { eck: "installed", namespace: "elastic-system", configMap: license(level, expiry) };
}

/** An Elasticsearch pod the webhook injected with `enforcement`. */
export function esPod(name: string, enforcement: Enforcement): V1Pod {
  const record = { version: 1, sidecar: "native", role: "elasticsearch", cluster: KEY, phase: "Enabling", enforcement, settings: {}, overridden: [] };
  return {
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME },
      annotations: { "mtls.es-mtls.io/injected": JSON.stringify(record) },
    },
    spec: { initContainers: [{ name: "es-mtls-agent", restartPolicy: "Always" }], containers: [{ name: "elasticsearch" }] },
  };
}

export function setup(o: { authentication?: boolean; license?: V1ConfigMap; pods?: V1Pod[] } = {}) {
  const caches = fakeCaches();
  caches.elasticsearch.put(elasticsearch(o.authentication ?? true));
  // Without `license` the fakes show no ECK: no licence rule applies.
  if (o.license) caches.licensing.put(o.license);
  for (const pod of o.pods ?? []) caches.pods.put(pod);
  const writer = new FakeWriter(caches);
  const events = new FakeEvents();
  const intents = new IntentStore();
  const reports = new ReportStore(() => {});
  const userSecretReads: string[] = [];
  /** Desired replicas per "Kind/name" of a pod's controller, as the fake apps API answers. */
  const replicas = new Map<string, number>();
  /** "system:serviceaccount:ns:sa->ns/es" pairs the fake SubjectAccessReview allows. */
  const allowedRefs = new Set<string>();
  /** Secrets that exist in the apiserver without es-mtls's label (invisible to the caches), by "namespace/name". */
  const planted = new Map<string, V1Secret>();
  /** The installed Elasticsearch CRD as the controller last read it: es-mtls's standalone one (no ECK), keeping spec.http.tls.client. */
  const crd: { current: CrdSupport | undefined } = { current: { supported: true, standalone: true, detail: "spec.http.tls.client is in the schema" } };
  const deps: ConstructorParameters<typeof ClusterReconciler>[0] = {
    caches,
    writer,
    events,
    intents,
    reports,
    readUserSecret: async (namespace, name) => {
      userSecretReads.push(`${namespace}/${name}`);
      return undefined;
    },
    readSecret: async (namespace, name) => planted.get(`${namespace}/${name}`) ?? (caches.clientCertSecrets as MetadataFakeCache).stored.get(`${namespace}/${name}`) ?? caches.managedSecrets.stored.get(`${namespace}/${name}`),
    ownerLookup: async () => ({ notFound: true }),
    elasticsearchCrd: () => crd.current,
    readReplicas: async (_namespace, kind, name) => replicas.get(`${kind}/${name}`),
    references: referenceAuthorizer({ enforce: true, check: async (user, to) => allowedRefs.has(`${user}->${to.namespace}/${to.name}`) }),
    pki: { caValidityMs: 365 * 24 * HOUR, caRotateBeforeMs: 24 * HOUR, certValidityMs: 365 * 24 * HOUR, certRotateBeforeMs: 24 * HOUR, agentCertValidityMs: 7 * 24 * HOUR, caNamespace: CA_NS },
    resyncMs: 300_000,
  };
  const reconciler = new ClusterReconciler(deps);
  /** Another controller taking over: same cluster, nothing in memory (and its own intent store). */
  const newLeader = () => {
    const store = new IntentStore();
    const next = new ClusterReconciler({ ...deps, intents: store });
    return { intents: store, reconcile: () => next.reconcile(KEY) };
  };
  const status = () => caches.clientAuth.get(ES_NAME, NS)?.status;
  /** What the pod's agent reports once it proved `without` for a client presenting no certificate. */
  const prove = (pod: V1Pod, without: "accepted" | "refused") => {
    const report: StatusReport = {
      generation: status()?.intentGeneration ?? 1,
      bundleSha256: status()?.bundleSha256,
      proof: { checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: without, detail: "test" },
      ready: true,
      errors: [],
    };
    reports.put({ namespace: NS, name: pod.metadata!.name!, uid: pod.metadata!.uid! }, report);
  };
  return { caches, writer, events, intents, reports, reconciler, newLeader, status, prove, userSecretReads, replicas, allowedRefs, planted, crd, reconcile: () => reconciler.reconcile(KEY) };
}

