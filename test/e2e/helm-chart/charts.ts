// Names of the official Elastic Helm charts' objects (elastic/helm-charts, elasticsearch/ and kibana/
// 8.5.1, default values: clusterName `elasticsearch`, nodeGroup `master`, releases `elasticsearch` and
// `kibana`) and, for the unit tests that need a chart-shaped pod without the charts
// (test/controller/admission/helm-chart-injection.test.ts, test/controller/reconcile/intents.test.ts),
// the elasticsearch chart's StatefulSet written from its template, not copied: labels `app`, `chart`,
// `release` plus the README's `labels:`; container `elasticsearch`; ELASTIC_PASSWORD from
// `elasticsearch-master-credentials`; HTTP/transport TLS from `elasticsearch-master-certs` at
// config/certs; the chart's bash + curl `exec` readiness probe, verbatim but for the template
// expressions (probe timing 0/1/1 s). The e2e runs the real charts instead (rendered.ts).
import type * as k8s from "@kubernetes/client-node";

export const ES_NAME = "elasticsearch"; // the chart's clusterName, and the es-mtls Elasticsearch resource
export const STS = "elasticsearch-master"; // <clusterName>-<nodeGroup>
export const KB_NAME = "kibana"; // the es-mtls Kibana resource
export const REPLICAS = 3;
export const CERTS_SECRET = `${STS}-certs`;
export const CREDENTIALS_SECRET = `${STS}-credentials`;
const CONFIG = "/usr/share/elasticsearch/config";

/** What the README tells chart users to add under `labels:` (elasticsearch chart). */
export const ES_MTLS_ES_LABELS = { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME };

const ES_CHART_LABELS = { release: "elasticsearch", chart: "elasticsearch", app: STS };
export const ES_SELECTOR = `app=${STS}`;
export const KB_SELECTOR = "app=kibana,release=kibana";

/** The chart's readiness probe script (statefulset.yaml), rendered with protocol https, httpPort 9200, clusterHealthCheckParams "wait_for_status=green&timeout=1s", esMajorVersion 8. */
export const ES_READINESS_SCRIPT = `set -e

# Exit if ELASTIC_PASSWORD in unset
if [ -z "\${ELASTIC_PASSWORD}" ]; then
  echo "ELASTIC_PASSWORD variable is missing, exiting"
  exit 1
fi

# If the node is starting up wait for the cluster to be ready (request params: "wait_for_status=green&timeout=1s" )
# Once it has started only check that the node itself is responding
START_FILE=/tmp/.es_start_file

# Disable nss cache to avoid filling dentry cache when calling curl
# This is required with Elasticsearch Docker using nss < 3.52
export NSS_SDB_USE_CACHE=no

http () {
  local path="\${1}"
  local args="\${2}"
  set -- -XGET -s

  if [ "$args" != "" ]; then
    set -- "$@" $args
  fi

  set -- "$@" -u "elastic:\${ELASTIC_PASSWORD}"

  curl --output /dev/null -k "$@" "https://127.0.0.1:9200\${path}"
}

if [ -f "\${START_FILE}" ]; then
  echo 'Elasticsearch is already running, lets check the node is healthy'
  HTTP_CODE=$(http "/" "-w %{http_code}")
  RC=$?
  if [[ \${RC} -ne 0 ]]; then
    echo "curl --output /dev/null -k -XGET -s -w '%{http_code}' \\\${BASIC_AUTH} https://127.0.0.1:9200/ failed with RC \${RC}"
    exit \${RC}
  fi
  # ready if HTTP code 200, 503 is tolerable if ES version is 6.x
  if [[ \${HTTP_CODE} == "200" ]]; then
    exit 0
  elif [[ \${HTTP_CODE} == "503" && "8" == "6" ]]; then
    exit 0
  else
    echo "curl --output /dev/null -k -XGET -s -w '%{http_code}' \\\${BASIC_AUTH} https://127.0.0.1:9200/ failed with HTTP code \${HTTP_CODE}"
    exit 1
  fi

else
  echo 'Waiting for elasticsearch cluster to become ready (request params: "wait_for_status=green&timeout=1s" )'
  if http "/_cluster/health?wait_for_status=green&timeout=1s" "--fail" ; then
    touch \${START_FILE}
    exit 0
  else
    echo 'Cluster is not yet ready (request params: "wait_for_status=green&timeout=1s" )'
    exit 1
  fi
fi
`;

const env = (name: string, value: string): k8s.V1EnvVar => ({ name, value });

export function esStatefulSet(): k8s.V1StatefulSet {
  const labels = { ...ES_CHART_LABELS, ...ES_MTLS_ES_LABELS };
  return {
    metadata: { name: STS, labels: { heritage: "Helm", ...labels }, annotations: { esMajorVersion: "8" } },
    spec: {
      serviceName: `${STS}-headless`,
      selector: { matchLabels: { app: STS } },
      replicas: REPLICAS,
      podManagementPolicy: "Parallel",
      updateStrategy: { type: "RollingUpdate" },
      template: {
        metadata: { name: STS, labels },
        spec: {
          securityContext: { fsGroup: 1000, runAsUser: 1000 },
          terminationGracePeriodSeconds: 5, // chart: 120
          volumes: [{ name: "elasticsearch-certs", secret: { secretName: CERTS_SECRET } }],
          enableServiceLinks: true,
          containers: [{
            name: "elasticsearch",
            securityContext: { capabilities: { drop: ["ALL"] }, runAsNonRoot: true, runAsUser: 1000 },
            image: "docker.elastic.co/elasticsearch/elasticsearch:8.5.1",
            imagePullPolicy: "IfNotPresent",
            readinessProbe: { exec: { command: ["bash", "-c", ES_READINESS_SCRIPT] }, failureThreshold: 3, initialDelaySeconds: 0, periodSeconds: 1, successThreshold: 1, timeoutSeconds: 5 },
            ports: [{ name: "http", containerPort: 9200 }, { name: "transport", containerPort: 9300 }],
            env: [
              { name: "node.name", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              env("cluster.initial_master_nodes", Array.from({ length: REPLICAS }, (_, i) => `${STS}-${i}`).join(",") + ","),
              env("node.roles", "master,data,data_content,data_hot,data_warm,data_cold,ingest,ml,remote_cluster_client,transform,"),
              env("discovery.seed_hosts", `${STS}-headless`),
              env("cluster.name", ES_NAME),
              env("network.host", "0.0.0.0"),
              { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: CREDENTIALS_SECRET, key: "password" } } },
              env("xpack.security.enabled", "true"),
              env("xpack.security.transport.ssl.enabled", "true"),
              env("xpack.security.http.ssl.enabled", "true"),
              env("xpack.security.transport.ssl.verification_mode", "certificate"),
              env("xpack.security.transport.ssl.key", `${CONFIG}/certs/tls.key`),
              env("xpack.security.transport.ssl.certificate", `${CONFIG}/certs/tls.crt`),
              env("xpack.security.transport.ssl.certificate_authorities", `${CONFIG}/certs/ca.crt`),
              env("xpack.security.http.ssl.key", `${CONFIG}/certs/tls.key`),
              env("xpack.security.http.ssl.certificate", `${CONFIG}/certs/tls.crt`),
              env("xpack.security.http.ssl.certificate_authorities", `${CONFIG}/certs/ca.crt`),
            ],
            volumeMounts: [{ name: "elasticsearch-certs", mountPath: `${CONFIG}/certs`, readOnly: true }],
          }],
        },
      },
    },
  };
}
