// The webhook configurations es-mtls wants (deploy/webhooks.yaml is this, rendered), and the one
// write the controller makes to them: keeping every webhook's caBundle equal to the serving CA,
// by server-side apply as field manager "es-mtls", and only when it differs.
//
// failurePolicy defaults:
// - pods: Fail. An Elasticsearch pod of a `required` cluster that starts without the agent would get
//   no client_authentication setting at all (ES's default is none): it would serve requests without
//   certificates while the cluster claims it requires them, and a Kibana pod would start without its
//   certificate. Failing closed keeps the promise; the StatefulSet/ReplicaSet controllers retry the
//   create with back-off, so pods appear once a controller replica answers. The blast radius is kept
//   small: only ECK-labelled Elasticsearch/Kibana pods of namespaces the controller labelled
//   ACTIVE_NAMESPACE_LABEL (they hold a cluster in an active phase, or a Kibana referencing one; as
//   Istio's istio-injection) match, so clusters that never enabled the feature never depend on it;
//   the controller's own namespace (and kube-system) never match; and every ready replica answers
//   (the webhook Service has no leader selector), so a leader change never stalls pod creation.
//   "Ignore" is available; pods admitted uninjected are then found by uninjected.ts and reported.
// - Elasticsearch/Kibana validation: Ignore. The reconciler applies the same rules (a refused spec
//   leaves the cluster Blocked with ECK's message), as ECK does "to guard against invalid specs when
//   webhooks are not configured", so a controller outage never blocks editing resources.
import * as k8s from "@kubernetes/client-node";
import type { FailurePolicy } from "./app.ts";
import {
  ACTIVE_NAMESPACE_LABEL,
  CONTROLLER_NAME,
  CONTROLLER_NAMESPACE,
  ECK_TYPE_LABEL,
  FIELD_MANAGER,
  INJECT_LABEL,
  NAMESPACE_NAME_LABEL,
  PART_OF,
  PART_OF_LABEL,
  WEBHOOK_CONFIGURATION_NAME,
  WEBHOOK_PATHS,
} from "../names.ts";
import { isNotFound } from "../kube/api-error.ts";

type WebhookClient = { service: { namespace: string; name: string; port: number } } | { url: string };

interface WebhookConfigurationOptions {
  /** Where the apiserver calls: the controller's Service (default), or a base URL (tests, out-of-cluster). */
  client?: WebhookClient;
  controllerNamespace?: string;
  /** Default "Fail" (see above). */
  podFailurePolicy?: FailurePolicy;
  /** Default "Ignore" (see above). */
  validationFailurePolicy?: FailurePolicy;
  /** Default 10, at most 10. */
  timeoutSeconds?: number;
  /** PEM; normally left out of manifests and filled in by syncCaBundles. */
  caPem?: string;
  name?: string;
}

/**
 * The webhook Service: every ready replica, unlike the intent API's Service (`serviceName`), which
 * selects the leader only. The serving certificate names both.
 */
export function webhookServiceName(serviceName = CONTROLLER_NAME): string {
  return `${serviceName}-webhook`;
}

const DEFAULT_POD_FAILURE_POLICY: FailurePolicy = "Fail";
const DEFAULT_VALIDATION_FAILURE_POLICY: FailurePolicy = "Ignore";

const WEBHOOK_NAMES = {
  pods: "pods.mtls.es-mtls.io",
  elasticsearch: "elasticsearches.mtls.es-mtls.io",
  kibana: "kibanas.mtls.es-mtls.io",
} as const;

const defaultClient = (namespace: string): WebhookClient => ({ service: { namespace, name: webhookServiceName(), port: 443 } });

function clientConfig(client: WebhookClient, path: string, caPem: string | undefined): k8s.AdmissionregistrationV1WebhookClientConfig {
  const caBundle = caPem ? { caBundle: Buffer.from(caPem).toString("base64") } : {};
  if ("url" in client) return { url: client.url.replace(/\/+$/, "") + path, ...caBundle };
  return { service: { ...client.service, path }, ...caBundle };
}

function timeout(options: WebhookConfigurationOptions): number {
  return Math.min(10, Math.max(1, options.timeoutSeconds ?? 10));
}

export function desiredMutatingWebhookConfiguration(options: WebhookConfigurationOptions = {}): k8s.V1MutatingWebhookConfiguration {
  const namespace = options.controllerNamespace ?? CONTROLLER_NAMESPACE;
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name: options.name ?? WEBHOOK_CONFIGURATION_NAME, labels: { [PART_OF_LABEL]: PART_OF } },
    webhooks: [
      {
        name: WEBHOOK_NAMES.pods,
        admissionReviewVersions: ["v1"],
        sideEffects: "None",
        timeoutSeconds: timeout(options),
        failurePolicy: options.podFailurePolicy ?? DEFAULT_POD_FAILURE_POLICY,
        matchPolicy: "Equivalent",
        // Injection is idempotent, but one pass is all it needs: nothing others add changes its decision.
        reinvocationPolicy: "Never",
        clientConfig: clientConfig(options.client ?? defaultClient(namespace), WEBHOOK_PATHS.mutatePods, options.caPem),
        // CREATE only: a pod's containers cannot change afterwards, so UPDATE has nothing to inject.
        rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }],
        objectSelector: {
          matchExpressions: [
            { key: ECK_TYPE_LABEL, operator: "In", values: ["elasticsearch", "kibana"] },
            { key: INJECT_LABEL, operator: "NotIn", values: ["false"] },
          ],
        },
        namespaceSelector: {
          matchExpressions: [
            { key: NAMESPACE_NAME_LABEL, operator: "NotIn", values: [namespace, "kube-system"] },
            { key: ACTIVE_NAMESPACE_LABEL, operator: "In", values: ["true"] },
          ],
        },
      },
    ],
  };
}

export function desiredValidatingWebhookConfiguration(options: WebhookConfigurationOptions = {}): k8s.V1ValidatingWebhookConfiguration {
  const namespace = options.controllerNamespace ?? CONTROLLER_NAMESPACE;
  const client = options.client ?? defaultClient(namespace);
  const common = () => ({
    admissionReviewVersions: ["v1"],
    sideEffects: "None",
    timeoutSeconds: timeout(options),
    failurePolicy: options.validationFailurePolicy ?? DEFAULT_VALIDATION_FAILURE_POLICY,
    matchPolicy: "Equivalent",
  });
  return {
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "ValidatingWebhookConfiguration",
    metadata: { name: options.name ?? WEBHOOK_CONFIGURATION_NAME, labels: { [PART_OF_LABEL]: PART_OF } },
    webhooks: [
      {
        name: WEBHOOK_NAMES.elasticsearch,
        ...common(),
        clientConfig: clientConfig(client, WEBHOOK_PATHS.validateElasticsearch, options.caPem),
        rules: [{ operations: ["CREATE", "UPDATE"], apiGroups: ["elasticsearch.k8s.elastic.co"], apiVersions: ["v1"], resources: ["elasticsearches"], scope: "Namespaced" }],
      },
      {
        name: WEBHOOK_NAMES.kibana,
        ...common(),
        clientConfig: clientConfig(client, WEBHOOK_PATHS.validateKibana, options.caPem),
        rules: [{ operations: ["CREATE", "UPDATE"], apiGroups: ["kibana.k8s.elastic.co"], apiVersions: ["v1"], resources: ["kibanas"], scope: "Namespaced" }],
      },
    ],
  };
}

interface CaBundleSyncResult {
  /** "MutatingWebhookConfiguration/es-mtls" etc. that were written. */
  changed: string[];
  /** Configurations that do not exist (the controller may only patch, not create: install deploy/). */
  missing: string[];
}

/** PEM blocks joined with exactly one newline between them (x509 toString("pem") has no trailing one). */
export function joinPem(pems: string | string[]): string {
  return (Array.isArray(pems) ? pems : [pems]).map((p) => p.trim()).filter(Boolean).join("\n") + "\n";
}

/**
 * Makes every webhook's caBundle equal `caPem` (the serving CA; during a rotation, old and new CAs
 * as a list or concatenated). Reads first and writes nothing when already in sync, so calling it on every
 * reconcile or timer tick costs one GET per configuration.
 */
export async function syncCaBundles(kc: k8s.KubeConfig, caPem: string | string[], name = WEBHOOK_CONFIGURATION_NAME): Promise<CaBundleSyncResult> {
  const api = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
  const want = Buffer.from(joinPem(caPem)).toString("base64");
  const result: CaBundleSyncResult = { changed: [], missing: [] };
  const kinds = [
    { kind: "MutatingWebhookConfiguration", read: () => api.readMutatingWebhookConfiguration({ name }) },
    { kind: "ValidatingWebhookConfiguration", read: () => api.readValidatingWebhookConfiguration({ name }) },
  ] as const;
  for (const { kind, read } of kinds) {
    let current: k8s.V1MutatingWebhookConfiguration | k8s.V1ValidatingWebhookConfiguration;
    try {
      current = await read();
    } catch (error) {
      if (isNotFound(error)) {
        result.missing.push(`${kind}/${name}`);
        continue;
      }
      throw error;
    }
    const webhooks = current.webhooks ?? [];
    if (webhooks.every((w) => w.clientConfig.caBundle === want)) continue;
    // Only the caBundle fields: everything else stays owned by whoever installed the manifests.
    const body = {
      apiVersion: "admissionregistration.k8s.io/v1",
      kind,
      metadata: { name },
      webhooks: webhooks.map((w) => ({ name: w.name, clientConfig: { caBundle: want } })),
    } as k8s.V1MutatingWebhookConfiguration;
    // force: the caBundle is ours even if an earlier `kubectl apply` of the manifests once set it.
    await objects.patch(body, undefined, undefined, FIELD_MANAGER, true, k8s.PatchStrategy.ServerSideApply);
    result.changed.push(`${kind}/${name}`);
  }
  return result;
}
