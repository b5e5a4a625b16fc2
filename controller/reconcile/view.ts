// Step: what one reconcile reads, once, from the caches (through the writer's read-your-writes
// view): the Elasticsearch, its ClientAuthentication, the Kibanas that reference it and the pods
// of both, in a stable order; and the whole of the cluster's own managed Secrets (their cache holds
// metadata only: the data of those that pass the ownership check is read here, once per resourceVersion).
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { Phase, Role } from "../../protocol/intent.ts";
import {
  CLIENT_AUTH_REQUIRED_ANNOTATION,
  ES_CLUSTER_LABEL,
  KIBANA_NAME_LABEL,
  internalClientCertSecretName,
  trustBundleSecretName,
} from "../names.ts";
import {
  splitKey,
  type ClientAuthentication,
  type ClientAuthenticationStatus,
  type Elasticsearch,
  type Kibana,
} from "../resources.ts";
import type { CacheViews } from "../kube/informers.ts";
import { referencesCluster } from "./kibana.ts";
import type { ClusterWriter, ReportSource } from "./deps.ts";
import { isOwnSecret } from "../policy/ownership.ts";
import { indexOf, nsKey } from "./cache-index.ts";

export interface PodView {
  pod: V1Pod;
  role: Role;
  kibana?: Kibana;
}

export interface ClusterView {
  key: string;
  namespace: string;
  name: string;
  es: Elasticsearch;
  clientAuth: ClientAuthentication | undefined;
  prevStatus: Partial<ClientAuthenticationStatus>;
  /** ECK's client-authentication-required annotation is set. */
  annotated: boolean;
  /** The persisted phase, or what the annotation implies for a cluster without status. */
  prevPhase: Phase;
  /** Kibanas whose elasticsearchRef names this cluster. */
  kibanas: Kibana[];
  /** Live (not terminating) pods of the cluster and its Kibanas. */
  pods: PodView[];
  /** The Elasticsearch ones among them. */
  esPods: PodView[];
  /**
   * A Secret es-mtls manages for this cluster, as last written: whole when it is the cluster's own
   * (label and controller ownerReference), its metadata only otherwise.
   */
  managedSecret(name: string): V1Secret | undefined;
}

type Sources = { caches: CacheViews; writer: ClusterWriter };

/** The cluster of `key` ("namespace/name"), or undefined when its Elasticsearch is gone. */
export async function loadCluster(key: string, d: Sources): Promise<ClusterView | undefined> {
  const { namespace, name } = splitKey(key);
  const { caches, writer } = d;
  const es = writer.fresh("Elasticsearch", namespace, name, caches.elasticsearch.get(name, namespace));
  if (!es) return undefined;
  const clientAuth = writer.fresh("ClientAuthentication", namespace, name, caches.clientAuth.get(name, namespace));
  const prevStatus = clientAuth?.status ?? {};
  const annotated = es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === "true";
  // Sorted: cache order differs between processes, and the content hash must not.
  const kibanas = [...(indexOf(caches.kibana, "referenced-cluster", referencedCluster).get(nsKey(namespace, name)) ?? [])]
    .filter((kb) => referencesCluster(kb, es))
    .sort((a, b) => `${a.metadata.namespace}/${a.metadata.name}`.localeCompare(`${b.metadata.namespace}/${b.metadata.name}`, "en"));
  const pods = podsOf(es, kibanas, caches);
  const whole = new Map<string, V1Secret>();
  for (const secret of managedSecretNames(name)) {
    const loaded = await ownManagedSecret(es, secret, d);
    if (loaded?.data) whole.set(secret, loaded);
  }
  return {
    key,
    namespace,
    name,
    es,
    clientAuth,
    prevStatus,
    annotated,
    prevPhase: (prevStatus.phase as Phase | undefined) ?? (annotated ? "Enabled" : "Disabled"),
    kibanas,
    pods,
    esPods: pods.filter((p) => p.role === "elasticsearch"),
    managedSecret: (secret) => {
      const now = writer.fresh("Secret", namespace, secret, caches.managedSecrets.get(secret, namespace));
      // Written during this reconcile: the writer's copy is whole. Else the copy loaded above (if
      // the cache moved on meanwhile, its change queues the next reconcile, which loads it).
      if (!now || now.data) return now;
      return whole.get(secret) ?? now;
    },
  };
}

/** The names of the Secrets es-mtls keeps in a cluster's namespace: the only ones whose data it reads. */
function managedSecretNames(esName: string): string[] {
  return [internalClientCertSecretName(esName), trustBundleSecretName(esName)];
}

/**
 * The Secret `name` in the Elasticsearch's namespace, whole when it is es-mtls's own for this
 * cluster (read on demand, kept per resourceVersion), its metadata otherwise.
 */
export async function ownManagedSecret(es: Elasticsearch, name: string, d: Sources): Promise<V1Secret | undefined> {
  const namespace = es.metadata.namespace;
  const meta = d.writer.fresh("Secret", namespace, name, d.caches.managedSecrets.get(name, namespace));
  if (!meta || meta.data || !isOwnSecret(meta, es)) return meta;
  return d.caches.managedSecrets.load(meta); // undefined: deleted since the cache saw it
}

/** The cluster a Kibana's elasticsearchRef names (its own namespace when the ref gives none). */
const referencedCluster = (kb: Kibana) => {
  const ref = kb.spec?.elasticsearchRef;
  return ref?.name ? nsKey(ref.namespace || kb.metadata.namespace, ref.name) : undefined;
};

/** The pods of `namespace` labelled with the Elasticsearch cluster `name` (from an index rebuilt only when the pod cache changed). */
function esPodsNamed(namespace: string, name: string, caches: CacheViews): readonly V1Pod[] {
  return indexOf(caches.pods, "es-cluster", (p) => (p.metadata?.labels?.[ES_CLUSTER_LABEL] === undefined ? undefined : nsKey(p.metadata.namespace, p.metadata.labels[ES_CLUSTER_LABEL]))).get(nsKey(namespace, name)) ?? [];
}

/** The pods of `namespace` labelled with the Kibana `name`. */
export function kibanaPodsNamed(namespace: string, name: string, caches: Pick<CacheViews, "pods">): readonly V1Pod[] {
  return indexOf(caches.pods, "kibana-name", (p) => (p.metadata?.labels?.[KIBANA_NAME_LABEL] === undefined ? undefined : nsKey(p.metadata.namespace, p.metadata.labels[KIBANA_NAME_LABEL]))).get(nsKey(namespace, name)) ?? [];
}

function podsOf(es: Elasticsearch, kibanas: Kibana[], caches: CacheViews): PodView[] {
  const out: PodView[] = [];
  for (const pod of esPodsNamed(es.metadata.namespace, es.metadata.name, caches)) {
    if (!pod.metadata?.deletionTimestamp) out.push({ pod, role: "elasticsearch" });
  }
  for (const kb of kibanas) {
    for (const pod of kibanaPodsNamed(kb.metadata.namespace, kb.metadata.name, caches)) {
      if (!pod.metadata?.deletionTimestamp) out.push({ pod, role: "kibana", kibana: kb });
    }
  }
  return out.sort((a, b) => `${a.pod.metadata!.namespace}/${a.pod.metadata!.name}`.localeCompare(`${b.pod.metadata!.namespace}/${b.pod.metadata!.name}`, "en"));
}

/** The ES pods of a cluster that carry one of its names, for clean-up after the Elasticsearch is gone. */
export function podsLabelledFor(namespace: string, name: string, caches: CacheViews): V1Pod[] {
  return [...esPodsNamed(namespace, name, caches)];
}

export const podRef = (p: PodView) => ({ namespace: p.pod.metadata!.namespace!, name: p.pod.metadata!.name!, uid: p.pod.metadata!.uid! });

/** The pod's agent's last report (by UID). */
export const reportOf = (reports: Pick<ReportSource, "get">, p: PodView) => reports.get(p.pod.metadata!.uid!);
