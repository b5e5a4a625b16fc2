// Pods shaped like the ones ECK creates (labels, container names, mounts), and the injection
// configuration the webhook tests use.
import type { V1Pod } from "@kubernetes/client-node";
import type { InjectionConfig } from "../../controller/admission/injection-config.ts";
import type { ClusterMode } from "../../controller/admission/cluster-mode.ts";
import { loadConfig } from "../../controller/config.ts";

export const CONTROLLER_CA_PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n";

export function injectionConfig(overrides: Partial<InjectionConfig> = {}): InjectionConfig {
  return {
    controllerNamespace: "es-mtls-system",
    agentImage: "ghcr.io/es-mtls/agent:test",
    controllerUrl: "https://es-mtls-controller.es-mtls-system.svc:8443",
    controllerCaPem: CONTROLLER_CA_PEM,
    // The controller's defaults (its --agent-* flags), as serving/webhooks.ts passes them.
    resources: loadConfig([], {}).agentResources,
    ...overrides,
  };
}

export function esMode(namespace: string, name: string, overrides: Partial<ClusterMode> = {}): ClusterMode {
  return { cluster: { namespace, name }, role: "elasticsearch", phase: "Enabling", enforcement: "required", ...overrides };
}

export function kibanaMode(namespace: string, esName: string, overrides: Partial<ClusterMode> = {}): ClusterMode {
  return { cluster: { namespace, name: esName }, role: "kibana", phase: "Enabled", enforcement: "required", ...overrides };
}

/** An Elasticsearch pod as ECK's StatefulSet would create it (trimmed to what matters here). */
export function esPod(namespace: string, cluster: string, name: string, extra: { annotations?: Record<string, string>; env?: Array<{ name: string; value: string }> } = {}): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name,
      namespace,
      labels: {
        "common.k8s.elastic.co/type": "elasticsearch",
        "elasticsearch.k8s.elastic.co/cluster-name": cluster,
        "elasticsearch.k8s.elastic.co/statefulset-name": `${cluster}-es-default`,
      },
      ...(extra.annotations ? { annotations: extra.annotations } : {}),
    },
    spec: {
      automountServiceAccountToken: false,
      securityContext: { fsGroup: 1000 },
      initContainers: [
        {
          name: "elastic-internal-init-filesystem",
          image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0",
          command: ["bash", "-c", "/mnt/elastic-internal/scripts/prepare-fs.sh"],
        },
      ],
      containers: [
        {
          name: "elasticsearch",
          image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0",
          env: [{ name: "POD_NAME", value: name }, ...(extra.env ?? [])],
          ports: [{ name: "https", containerPort: 9200 }],
          volumeMounts: [{ name: "elastic-internal-http-certificates", mountPath: "/usr/share/elasticsearch/config/http-certs", readOnly: true }],
        },
      ],
      volumes: [{ name: "elastic-internal-http-certificates", secret: { secretName: `${cluster}-es-http-certs-internal` } }],
    },
  };
}

/** A Kibana pod as ECK's Deployment would create it. */
export function kibanaPod(namespace: string, kibana: string, name: string): V1Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels: { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": kibana } },
    spec: {
      automountServiceAccountToken: false,
      containers: [
        {
          name: "kibana",
          image: "docker.elastic.co/kibana/kibana:9.4.0",
          readinessProbe: { httpGet: { path: "/login", port: 5601, scheme: "HTTPS" } },
          ports: [{ name: "https", containerPort: 5601 }],
        },
      ],
    },
  };
}
