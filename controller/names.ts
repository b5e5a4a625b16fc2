// Names shared by the webhooks, the deploy/ manifests and the controller: labels ECK puts on
// its pods, what injection adds to a pod, and the controller's own object names.

// ECK's pod labels (verbatim), by which injection recognises Elasticsearch and Kibana pods.
export const ECK_TYPE_LABEL = "common.k8s.elastic.co/type";
export const ES_CLUSTER_LABEL = "elasticsearch.k8s.elastic.co/cluster-name";
export const KIBANA_NAME_LABEL = "kibana.k8s.elastic.co/name";

/** Pod annotation recording what injection did (JSON, see InjectionRecord); its presence means "injected". */
export const INJECTED_ANNOTATION = "mtls.es-mtls.io/injected";
/** Pod annotation carrying the controller's serving CA (PEM), projected into the agent as a file. */
export const CONTROLLER_CA_ANNOTATION = "mtls.es-mtls.io/controller-ca";
/** Pod label opting a pod out of injection (value "false"); honoured by the webhook's objectSelector. */
/** On an Elasticsearch not run by ECK: the Secrets the health gate reads (ECK's names otherwise). */
export const HEALTH_CREDENTIALS_ANNOTATION = "mtls.es-mtls.io/health-credentials-secret";
export const HEALTH_HTTP_CA_ANNOTATION = "mtls.es-mtls.io/health-http-ca-secret";
export const INJECT_LABEL = "mtls.es-mtls.io/inject";
/**
 * Namespace label the controller keeps ("true") while the namespace holds a cluster in an active phase
 * or a Kibana referencing one (reconcile/namespace-label.ts); the pod webhook's namespaceSelector needs it.
 */
export const ACTIVE_NAMESPACE_LABEL = "mtls.es-mtls.io/active";

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
export const ES_BUNDLE_FILE = "client-trust-bundle.crt";
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

export const WEBHOOK_PATHS = {
  mutatePods: "/mutate-pods",
  validateElasticsearch: "/validate-elasticsearch",
  validateKibana: "/validate-kibana",
} as const;
