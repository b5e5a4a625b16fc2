// Writes a cluster's ClientAuthentication: the object once (owned by the Elasticsearch, so it goes
// with it), then its status subresource only when it differs from what is stored.
import type { KubernetesObject } from "@kubernetes/client-node";
import {
  CLIENT_AUTHENTICATION,
  apiVersionOf,
  esOwnerReference,
  type ClientAuthentication,
  type ClientAuthenticationStatus,
  type Elasticsearch,
} from "../resources.ts";
import { ES_CLUSTER_LABEL } from "../names.ts";
import type { Writer } from "../kube/writer.ts";
import { sameStatus } from "./build.ts";

type StatusWriter = Pick<Writer, "apply" | "applyStatus">;

export async function writeStatus(writer: StatusWriter, es: Elasticsearch, existing: ClientAuthentication | undefined, status: ClientAuthenticationStatus): Promise<void> {
  const { namespace, name } = es.metadata;
  if (!existing) {
    await writer.apply({
      apiVersion: apiVersionOf(CLIENT_AUTHENTICATION),
      kind: CLIENT_AUTHENTICATION.kind,
      metadata: { name, namespace, labels: { [ES_CLUSTER_LABEL]: name }, ownerReferences: [esOwnerReference(es)] },
      spec: {},
    } as KubernetesObject);
  }
  // observedGeneration counts too: a spec change that changes nothing else must still be acknowledged.
  if (existing?.status && existing.status.observedGeneration === es.metadata.generation && sameStatus(existing.status, status)) return;
  await writer.applyStatus(CLIENT_AUTHENTICATION, namespace, name, { ...status, observedGeneration: es.metadata.generation });
}
