// Whether the installed Elasticsearch CRD lets `spec.http.tls.client.authentication` reach the
// apiserver at all. ECK ≤ 3.3's CRD (and any other without the field) prunes it on write, so a user
// would switch the feature on and see nothing happen, with no object to carry a condition: the
// controller says so in its log, its metrics and its /readyz body instead (read once at start and
// on every resync; one named `get`).
import type * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./api-error.ts";

export const ELASTICSEARCH_CRD = "elasticsearches.elasticsearch.k8s.elastic.co";

export interface CrdSupport {
  supported: boolean;
  /** es-mtls's own standalone CRD (its label), not ECK's: no ECK operator will reconcile these objects. */
  standalone: boolean;
  /** One line for the log and /readyz. */
  detail: string;
}

const PATH = ["spec", "http", "tls", "client", "authentication"];
/** deploy/standalone-crds/ label their CRDs so. */
const PART_OF_LABEL = "app.kubernetes.io/part-of";

/** Follows the path through the schema: a level without the next name prunes it unless it preserves unknown fields. */
function keepsField(schema: k8s.V1JSONSchemaProps | undefined): boolean {
  let node = schema;
  for (const name of PATH) {
    const next = node?.properties?.[name];
    if (!next) return node?.x_kubernetes_preserve_unknown_fields === true;
    node = next;
  }
  return true;
}

/** Pure: which served versions keep `spec.http.tls.client.authentication`. */
export function crdSupport(crd: k8s.V1CustomResourceDefinition | undefined): CrdSupport {
  if (!crd) return { supported: false, standalone: false, detail: `CRD ${ELASTICSEARCH_CRD} is not installed: install ECK ≥ 3.4 or es-mtls's standalone CRDs (deploy/standalone-crds/)` };
  const standalone = crd.metadata?.labels?.[PART_OF_LABEL] === "es-mtls";
  const served = crd.spec.versions.filter((v) => v.served);
  const keeps = (v: k8s.V1CustomResourceDefinitionVersion) => keepsField(v.schema?.openAPIV3Schema);
  const missing = served.filter((v) => !keeps(v)).map((v) => v.name);
  const v1 = served.find((v) => v.name === "v1");
  if (v1 && keeps(v1)) {
    return { supported: true, standalone, detail: missing.length ? `v1 keeps spec.http.tls.client (older served versions ${missing.join(", ")} do not)` : "spec.http.tls.client is in the schema" };
  }
  return { supported: false, standalone, detail: `CRD ${ELASTICSEARCH_CRD} (v1) has no spec.http.tls.client: the apiserver drops the field on write (ECK ≤ 3.3's CRD), so client authentication cannot be switched on; install ECK ≥ 3.4's CRDs or es-mtls's standalone CRDs` };
}

export async function readCrdSupport(api: k8s.ApiextensionsV1Api): Promise<CrdSupport> {
  try {
    return crdSupport(await api.readCustomResourceDefinition({ name: ELASTICSEARCH_CRD }));
  } catch (e) {
    if (isNotFound(e)) return crdSupport(undefined);
    throw e;
  }
}
