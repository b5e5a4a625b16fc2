// The Kubernetes resources the controller works with: their API identities, the shapes it reads
// and writes, and pure helpers on them. No I/O, so every folder (the pure ones too) may import it;
// labels, annotations and object names are in names.ts, the API calls in kube/.
import type { KubernetesObject, V1ObjectMeta, V1OwnerReference } from "@kubernetes/client-node";

export interface CustomResource {
  group: string;
  version: string;
  plural: string;
  kind: string;
}

export const ELASTICSEARCH: CustomResource = { group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches", kind: "Elasticsearch" };
export const KIBANA: CustomResource = { group: "kibana.k8s.elastic.co", version: "v1", plural: "kibanas", kind: "Kibana" };
export const CLIENT_AUTHENTICATION: CustomResource = { group: "mtls.es-mtls.io", version: "v1alpha1", plural: "clientauthentications", kind: "ClientAuthentication" };

export const apiVersionOf = (r: CustomResource) => `${r.group}/${r.version}`;

interface ElasticsearchSpec {
  version?: string;
  http?: { tls?: { client?: { authentication?: boolean }; selfSignedCertificate?: { disabled?: boolean } } };
  nodeSets?: Array<{ name: string; count?: number; config?: Record<string, unknown> }>;
}
export interface Elasticsearch extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec?: ElasticsearchSpec;
  /** ECK's, written only by ECK (policy/manager.ts); es-mtls reads two fields. */
  status?: { observedGeneration?: number; phase?: string };
}
export interface Kibana extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string; uid: string };
  spec?: {
    count?: number;
    /** ECK's field: the ServiceAccount whose RBAC a cross-namespace reference is checked against. */
    serviceAccountName?: string;
    elasticsearchRef?: { name?: string; namespace?: string; secretName?: string; serviceName?: string; clientCertificateSecretName?: string };
  };
}

export interface Condition {
  type: string;
  status: "True" | "False" | "Unknown";
  reason: string;
  message: string;
  lastTransitionTime?: string;
  observedGeneration?: number;
}

export interface PodStatusEntry {
  name: string;
  uid: string;
  role: string;
  appliedGeneration?: number;
  bundleSha256?: string;
  certificateNotAfter?: string;
  withCertificate?: string;
  withoutCertificate?: string;
  ready?: boolean;
  injected: boolean;
  /** The image of the pod's agent container. */
  agentImage?: string;
}

export interface ClientAuthenticationStatus {
  phase: string;
  enforcement: string;
  observedGeneration?: number;
  intentGeneration: number;
  intentHash: string;
  podsProven: string;
  bundleHash?: string;
  bundleSha256?: string;
  earliestExpiry?: string;
  /** When the cluster last became active (Enabling): pods created before it are the rollout's, not the webhook's misses. */
  activeSince?: string;
  /** gate/rollout.ts PendingReplacement: the last restart, until its replacement appears. */
  pendingRestart?: { pod: string; uid?: string; ownerUid: string; knownUids: string[] };
  pods: PodStatusEntry[];
  conditions: Condition[];
}

export interface ClientAuthentication extends KubernetesObject {
  metadata: V1ObjectMeta & { name: string; namespace: string };
  status?: Partial<ClientAuthenticationStatus>;
}

/** The one ownerReference to an Elasticsearch: what es-mtls creates for a cluster goes with it. */
export function esOwnerReference(es: Elasticsearch): V1OwnerReference {
  return { apiVersion: es.apiVersion ?? apiVersionOf(ELASTICSEARCH), kind: ELASTICSEARCH.kind, name: es.metadata.name, uid: es.metadata.uid, controller: true, blockOwnerDeletion: true };
}

export const key = (namespace: string, name: string) => `${namespace}/${name}`;
export function splitKey(k: string): { namespace: string; name: string } {
  const i = k.indexOf("/");
  return { namespace: k.slice(0, i), name: k.slice(i + 1) };
}
