// What the cluster-wide caches keep of each Pod, Elasticsearch and Kibana (issue 18 finding 8):
// only the fields the controller reads, so what a tenant puts in their own objects (managedFields,
// large annotations, env, resources, a nodeSet's podTemplate, …) does not fill its memory. Applied
// to every listed and watched object before it is cached (kube/informers.ts). Dropped fields are
// never read from a cached object; whoever needs more reads it elsewhere: the webhooks judge the
// pod in the admission request, the health gate reads StatefulSets on demand.
//
// Kept, by reader:
// - metadata: name, namespace, uid, resourceVersion (writer.ts's read-your-writes), generation
//   (observedGeneration), creationTimestamp (policy/uninjected.ts), deletionTimestamp, labels (whole:
//   they select, route and are matched against workloads' selectors), ownerReferences (rollout,
//   ownership), and only the annotations of ECK's and es-mtls's prefixes (injection record,
//   client-authentication-required, the health gate's two);
// - a pod's containers and init containers: name (injection-record.ts), restartPolicy, the three
//   probes and lifecycle hooks (policy/https-probes.ts), volumeMounts (policy/uninjected.ts,
//   user-http-trust.ts, kibana-proof.ts), of env only the few names (and one short value) that
//   policy/user-http-trust.ts and kibana-proof.ts read, and the image of the agent's container only
//   (the status shows which agent each pod runs); its
//   volumes: name and secret.secretName (reconcile/intents.ts, kibana-identities.ts); status: phase,
//   reason, podIP(s) and the conditions' type and status (the intent API, the health gate);
// - an Elasticsearch's spec: version, http, nodeSets' name, count and config (policy/validation.ts,
//   the HTTP CA path), and of its status (ECK's) observedGeneration and phase (policy/manager.ts:
//   has ECK reconciled it); a Kibana's spec: count, serviceAccountName, elasticsearchRef;
// - of the metadata-only Secret caches (labelled client-certificate Secrets, es-mtls's managed-by
//   label: what a tenant may set), the metadata above and nothing else;
// - of objects only es-mtls writes (CA Secrets, ClientAuthentications, namespaces), everything but
//   metadata.managedFields (issue 21: one entry per writer and subresource, read by nobody here; a
//   PUT without them keeps the stored ones, so cluster-pki.ts's replace of a cached CA loses none).
import type * as k8s from "@kubernetes/client-node";
import { AGENT_CONTAINER, AGENT_INIT_CONTAINER } from "../names.ts";
import type { Elasticsearch, Kibana } from "../resources.ts";

/** Annotation prefixes whose keys the controller reads (names.ts). */
const READ_ANNOTATION_PREFIXES = ["mtls.es-mtls.io/", "eck.k8s.elastic.co/"];

function defined<T extends object>(o: T): T {
  for (const k of Object.keys(o) as Array<keyof T>) if (o[k] === undefined) delete o[k];
  return o;
}

function metadata(m: k8s.V1ObjectMeta | undefined): k8s.V1ObjectMeta {
  if (!m) return {};
  const annotations = Object.fromEntries(Object.entries(m.annotations ?? {}).filter(([k]) => READ_ANNOTATION_PREFIXES.some((p) => k.startsWith(p))));
  return defined({
    name: m.name,
    namespace: m.namespace,
    uid: m.uid,
    resourceVersion: m.resourceVersion,
    generation: m.generation,
    creationTimestamp: m.creationTimestamp,
    deletionTimestamp: m.deletionTimestamp,
    labels: m.labels,
    annotations: Object.keys(annotations).length ? annotations : undefined,
    ownerReferences: m.ownerReferences,
  });
}

/** A metadata-only Secret (PartialObjectMetadata) with only the metadata the controller reads. */
export function cachedSecretMetadata(s: k8s.V1Secret): k8s.V1Secret {
  return defined({ apiVersion: s.apiVersion, kind: s.kind, metadata: metadata(s.metadata) });
}

/** `o` without metadata.managedFields (shallow: the rest is shared with `o`). */
export function withoutManagedFields<T extends k8s.KubernetesObject>(o: T): T {
  if (!o.metadata?.managedFields) return o;
  const { managedFields: _, ...rest } = o.metadata;
  return { ...o, metadata: rest };
}

function container(c: k8s.V1Container): k8s.V1Container {
  return defined({
    name: c.name,
    image: c.name === AGENT_CONTAINER || c.name === AGENT_INIT_CONTAINER ? c.image : undefined,
    restartPolicy: c.restartPolicy,
    readinessProbe: c.readinessProbe,
    livenessProbe: c.livenessProbe,
    startupProbe: c.startupProbe,
    lifecycle: c.lifecycle,
    volumeMounts: c.volumeMounts,
    env: keptEnv(c.env),
  });
}

/**
 * The environment variables policy/kibana-proof.ts and policy/user-http-trust.ts read, and no more:
 * ELASTICSEARCH_HOSTS and any truststore setting (either spelling) by name, STATUS_ALLOWANONYMOUS with
 * its value when short, ELASTICSEARCH_SERVICEACCOUNTTOKEN with the name of the Secret it comes from
 * (policy/kibana-chart-hooks.ts). Every other variable, and every other value, is dropped.
 */
function keptEnv(env: k8s.V1EnvVar[] | undefined): k8s.V1EnvVar[] | undefined {
  const kept = (env ?? []).flatMap((e): k8s.V1EnvVar[] => {
    if (e.name === "STATUS_ALLOWANONYMOUS") return [typeof e.value === "string" && e.value.length <= 8 ? { name: e.name, value: e.value } : { name: e.name }];
    if (e.name === "ELASTICSEARCH_SERVICEACCOUNTTOKEN") {
      const secret = e.valueFrom?.secretKeyRef?.name;
      return [typeof secret === "string" && secret.length <= 253 ? { name: e.name, valueFrom: { secretKeyRef: { name: secret, key: "" } } } : { name: e.name }];
    }
    if (e.name === "ELASTICSEARCH_HOSTS" || /truststore/i.test(e.name)) return [{ name: e.name }];
    return [];
  });
  return kept.length ? kept : undefined;
}

export function cachedPod(p: k8s.V1Pod): k8s.V1Pod {
  const s = p.spec;
  const st = p.status;
  return defined({
    apiVersion: p.apiVersion,
    kind: p.kind,
    metadata: metadata(p.metadata),
    spec: s
      ? defined({
          containers: (s.containers ?? []).map(container),
          initContainers: s.initContainers?.map(container),
          volumes: s.volumes?.map((v) => defined({ name: v.name, secret: v.secret ? { secretName: v.secret.secretName } : undefined })),
        })
      : undefined,
    status: st
      ? defined({
          phase: st.phase,
          reason: st.reason,
          podIP: st.podIP,
          podIPs: st.podIPs,
          conditions: st.conditions?.map((c) => ({ type: c.type, status: c.status })),
        })
      : undefined,
  });
}

/** A custom resource with its metadata trimmed and only the spec fields `keep` picks. */
function cachedCustom<T extends Elasticsearch | Kibana>(o: T, keep: (spec: NonNullable<T["spec"]>) => T["spec"]): T {
  return defined({ apiVersion: o.apiVersion, kind: o.kind, metadata: metadata(o.metadata) as T["metadata"], spec: o.spec ? (defined(keep(o.spec as NonNullable<T["spec"]>) as object) as T["spec"]) : undefined } as T);
}

export function cachedElasticsearch(es: Elasticsearch): Elasticsearch {
  const kept = cachedCustom(es, (s) => ({ version: s.version, http: s.http, nodeSets: s.nodeSets?.map((n) => defined({ name: n.name, count: n.count, config: n.config })) }));
  const status = es.status && defined({ observedGeneration: es.status.observedGeneration, phase: es.status.phase });
  return status && Object.keys(status).length ? { ...kept, status } : kept;
}

export function cachedKibana(kb: Kibana): Kibana {
  return cachedCustom(kb, (s) => ({ count: s.count, serviceAccountName: s.serviceAccountName, elasticsearchRef: s.elasticsearchRef }));
}
