// The controller's one home for names: every label, annotation and object name it reads or writes,
// ECK's kept verbatim (compatibility), es-mtls's own under mtls.es-mtls.io, and the functions that
// build object names. The agent's names (its ES_MTLS_* variables, paths) are its contract, in
// protocol/agent-env.ts. Imports only common/, so every controller folder, pure or not, may use it.
import { sha256Hex } from "../common/digest.ts";

// ECK's labels (verbatim), by which injection recognises Elasticsearch and Kibana pods and the
// controller labels a cluster's Secrets.
export const ECK_TYPE_LABEL = "common.k8s.elastic.co/type";
export const ES_CLUSTER_LABEL = "elasticsearch.k8s.elastic.co/cluster-name";
export const ES_STATEFULSET_LABEL = "elasticsearch.k8s.elastic.co/statefulset-name";
export const KIBANA_NAME_LABEL = "kibana.k8s.elastic.co/name";

// ECK's annotations.
/** Set on an Elasticsearch while client authentication is required (reconcile/eck.ts). */
export const CLIENT_AUTH_REQUIRED_ANNOTATION = "eck.k8s.elastic.co/client-authentication-required";
/** `"false"`: ECK skips the object (ECK 3.5: common/unmanaged.go), so es-mtls need not wait for it (policy/manager.ts). */
export const ECK_MANAGED_ANNOTATION = "eck.k8s.elastic.co/managed";

// ECK's labels on client-certificate Secrets (kept verbatim for compatibility).
export const CLIENT_CERTIFICATE_LABEL = "eck.k8s.elastic.co/client-certificate";
export const OWNER_NAME_LABEL = "eck.k8s.elastic.co/owner-name";
export const OWNER_NAMESPACE_LABEL = "eck.k8s.elastic.co/owner-namespace";
export const OWNER_KIND_LABEL = "eck.k8s.elastic.co/owner-kind";
/** Only owners from ECK's API groups (elasticsearch.k8s.elastic.co, kibana.k8s.elastic.co, ...) count. */
export const ECK_API_GROUP_SUFFIX = ".k8s.elastic.co";

// ECK's objects.
/** ECK's license ConfigMap, in the operator's namespace. */
export const LICENSING_CONFIGMAP = "elastic-licensing";
/** The `elastic` user's password, read by the health gate. */
export const eckElasticUserSecretName = (esName: string) => `${esName}-es-elastic-user`;
/** The cluster's HTTP CA (`ca.crt`), read by the health gate. */
export const eckHttpCaSecretName = (esName: string) => `${esName}-es-http-certs-public`;

// Kubernetes' own labels.
export const MANAGED_BY_LABEL = "app.kubernetes.io/managed-by";
/** MANAGED_BY_LABEL's value on what es-mtls creates. */
export const MANAGED_BY = "es-mtls";
export const PART_OF_LABEL = "app.kubernetes.io/part-of";
/** PART_OF_LABEL's value on the webhook configurations. */
export const PART_OF = "es-mtls";
/** Set by Kubernetes on every namespace. */
export const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";

// The Secrets es-mtls writes for a cluster, at ECK's names (same Secrets, same mount paths).
/** ECK's data key of the trust bundle, mounted as .../config/client-trust-bundle/client-trust-bundle.crt. */
export const TRUST_BUNDLE_KEY = "client-trust-bundle.crt";
/** SHA-256 (hex) of the bundle PEM, so a reader can compare without decoding data. */
export const TRUST_BUNDLE_HASH_ANNOTATION = "mtls.es-mtls.io/client-trust-bundle-sha256";
/**
 * On the trust-bundle Secret: the highest intent generation es-mtls may have handed to agents. Written
 * before agents see a new generation (a small write), so the status, one entry per pod, can follow;
 * a new leader never hands out a generation at or below it with other content.
 */
export const INTENT_GENERATION_RESERVED_ANNOTATION = "mtls.es-mtls.io/intent-generation-reserved";
export function trustBundleSecretName(esName: string): string {
  return `${esName}-es-client-trust-bundle`;
}
/** The controller's own client certificate for a cluster (ECK's name). */
export function internalClientCertSecretName(esName: string): string {
  return `${esName}-es-internal-client-cert`;
}

// A cluster's client CA: one Secret per cluster in the controller's own namespace (a CA key in the
// workload namespace would let anyone who reads Secrets there mint any client). Its name must be
// unique per cluster and a valid Secret name (≤ 253 characters, lowercase DNS subdomain): readable
// namespace and name, cut to fit, plus a hash of the exact "namespace/name".
/** Labels naming the cluster a CA Secret belongs to: what deletion and the orphan sweep go by. */
export const CA_CLUSTER_NAMESPACE_LABEL = "mtls.es-mtls.io/client-ca-of-namespace";
export const CA_CLUSTER_NAME_LABEL = "mtls.es-mtls.io/client-ca-of-name";
export const CA_CLUSTER_UID_LABEL = "mtls.es-mtls.io/client-ca-of-uid";
const MAX_SECRET_NAME = 253;
const CA_NAME_HASH_CHARS = 10;
export function clientCaSecretName(namespace: string, name: string): string {
  const hash = sha256Hex(`${namespace}/${name}`).slice(0, CA_NAME_HASH_CHARS);
  const readable = `client-ca-${namespace}-${name}`.toLowerCase().slice(0, MAX_SECRET_NAME - CA_NAME_HASH_CHARS - 1).replace(/[^a-z0-9]+$/, "");
  return `${readable}-${hash}`;
}

/** Pod annotation recording what injection did (JSON, see InjectionRecord); its presence means "injected". */
export const INJECTED_ANNOTATION = "mtls.es-mtls.io/injected";
/** Pod annotation carrying the controller's serving CA (PEM), projected into the agent as a file. */
export const CONTROLLER_CA_ANNOTATION = "mtls.es-mtls.io/controller-ca";
/** Pod annotation set by its owner (e.g. a nodeSet's podTemplate): the agent's requests and limits over the controller's (JSON). */
export const AGENT_RESOURCES_ANNOTATION = "mtls.es-mtls.io/agent-resources";
/** On an Elasticsearch not run by ECK: the Secrets the health gate reads (ECK's names otherwise). */
export const HEALTH_CREDENTIALS_ANNOTATION = "mtls.es-mtls.io/health-credentials-secret";
export const HEALTH_HTTP_CA_ANNOTATION = "mtls.es-mtls.io/health-http-ca-secret";
/** Pod label opting a pod out of injection (value "false"); honoured by the webhook's objectSelector. */
export const INJECT_LABEL = "mtls.es-mtls.io/inject";
/**
 * Namespace label the controller keeps ("true") while the namespace holds a cluster in an active phase
 * or a Kibana referencing one (reconcile/namespace-label.ts); the pod webhook's namespaceSelector needs it.
 */
export const ACTIVE_NAMESPACE_LABEL = "mtls.es-mtls.io/active";
/**
 * Pod label the leader keeps on its own pod ("true"; kube/leader-label.ts): the intent API's Service
 * selects it, so agents reach the leader only.
 */
export const LEADER_LABEL = "mtls.es-mtls.io/leader";

/** Version of the injected layout; bumped when the shape of the injected pod changes. */
export const INJECTION_VERSION = 2; // 2: the probe folder (es-mtls-probe volume, CURL_HOME) for Elasticsearch pods

export const AGENT_CONTAINER = "es-mtls-agent";
export const AGENT_INIT_CONTAINER = "es-mtls-agent-init";
export const MATERIAL_VOLUME = "es-mtls-material";
export const AGENT_VOLUME = "es-mtls-agent";
export const USER_CERT_VOLUME = "es-mtls-user-client-cert";
export const NO_API_TOKEN_VOLUME = "es-mtls-no-api-token";
/** Elasticsearch: the local probe identity's folder (CURL_HOME), written by the agent (intent.probe). */
export const PROBE_VOLUME = "es-mtls-probe";
export const ES_PROBE_DIR = "/usr/share/elasticsearch/config/es-mtls-probe";
export const ES_PROBE_FILE = "probe.pem";

// Where the agent finds its token and the controller CA, its env names, port and file mode: the
// agent's contract, in protocol/agent-env.ts.
/** Kibana with clientCertificateSecretName: the user's Secret, mounted in the agent only (UserProvidedIdentity.mountPath). */
export const USER_CERT_MOUNT_PATH = "/var/run/secrets/es-mtls-user-client-cert";

// ECK's mount paths and file names (eck-client-cert-auth.md §3), so ES and Kibana read what ECK would give them.
export const ES_BUNDLE_DIR = "/usr/share/elasticsearch/config/client-trust-bundle";
/** The trust bundle Secret's key, mounted as a file. */
export const ES_BUNDLE_FILE = TRUST_BUNDLE_KEY;
export const ES_HTTP_CA_FILE = "/usr/share/elasticsearch/config/http-certs/ca.crt";
export const KIBANA_CERT_DIR = "/usr/share/kibana/config/elasticsearch-client-certs";

/** The workload containers ECK creates (the container whose settings injection sets). */
export const ES_CONTAINER = "elasticsearch";
export const KIBANA_CONTAINER = "kibana";

// The controller's own objects (deploy/).
export const CONTROLLER_NAMESPACE = "es-mtls-system";
export const CONTROLLER_NAME = "es-mtls-controller";
export const WEBHOOK_CONFIGURATION_NAME = "es-mtls";
export const FIELD_MANAGER = "es-mtls";
export const WEBHOOK_PORT = 9443;
export const INTENT_API_PORT = 8443;

export const WEBHOOK_PATHS = {
  mutatePods: "/mutate-pods",
  validateElasticsearch: "/validate-elasticsearch",
  validateKibana: "/validate-kibana",
} as const;
/**
 * On an Elasticsearch not run by ECK whose pods mount their own elasticsearch.yml (the chart's
 * `esConfig`): "none" says that file sets no `xpack.security.http.ssl.truststore.*` and no
 * `xpack.security.http.ssl.certificate_authorities` (the controller cannot read it: policy/user-http-trust.ts).
 */
export const ES_YML_HTTP_TRUST_ANNOTATION = "mtls.es-mtls.io/elasticsearch-yml-http-trust";
/**
 * On an Elasticsearch whose Kibana comes from the official Kibana chart: "no-hooks" says that chart's
 * Helm hook Jobs, which present no client certificate, are skipped (`--no-hooks`: policy/kibana-chart-hooks.ts).
 */
export const KIBANA_CHART_HOOKS_ANNOTATION = "mtls.es-mtls.io/kibana-chart-hooks";
