// Verifies an owner of any ECK kind (Agent, Beat, Logstash, ApmServer, EnterpriseSearch,
// ElasticMapsServer, ...) that the controller does not cache, by reading it from the
// apiserver, as ECK 3.5 does for every `*.k8s.elastic.co` owner (elastic/cloud-on-k8s#9561).
// Kinds are resolved by discovery, so kinds added by later ECK versions work too.
import * as k8s from "@kubernetes/client-node";
import { metrics } from "../metrics.ts";
import { OwnerLookupError } from "../errors.ts";
import { apiErrorMessage, isForbidden, isNotFound } from "./api-error.ts";
import type { OwnerLookup, OwnerQuery } from "../trust/sources.ts";

/** Exposes discovery (kind → resource), which KubernetesObjectApi keeps protected; it caches per apiVersion. */
class OwnerApi extends k8s.KubernetesObjectApi {
  discover(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

/** trust/sources.ts's OwnerLookup against the apiserver. Throws OwnerLookupError when the apiserver's answer says nothing about the owner (unavailable, throttled). */
export function kubeOwnerLookup(kc: k8s.KubeConfig): OwnerLookup {
  const api = kc.makeApiClient(OwnerApi);
  return async (query) => {
    const served = `${query.kind} (${query.apiVersion})`;
    let resource: k8s.V1APIResource | undefined;
    try {
      resource = await api.discover(query.apiVersion, query.kind);
    } catch (e) {
      if (isNotFound(e)) return { problem: `owner kind ${served} is not served by this cluster (its CRD is not installed)` };
      if (isForbidden(e)) return { problem: `the controller may not discover ${query.apiVersion} to check owner ${query.kind} ${query.name}` };
      throw lookupFailed(query, e);
    }
    if (!resource) return { problem: `owner kind ${served} is not served by this cluster (its CRD is not installed)` };
    if (!resource.namespaced) return { problem: `owner kind ${served} is cluster-scoped; an owner must live in the Secret's namespace` };
    metrics.inc("es_mtls_controller_owner_lookups_total", { kind: query.kind });
    try {
      const owner = await api.read({ apiVersion: query.apiVersion, kind: query.kind, metadata: { name: query.name, namespace: query.namespace } });
      return { found: { uid: owner.metadata?.uid ?? "" } };
    } catch (e) {
      if (isNotFound(e)) return { notFound: true };
      if (isForbidden(e)) return { problem: `the controller may not get ${resource.name}.${apiGroup(query.apiVersion)} in namespace ${query.namespace} to check owner ${query.kind} ${query.name} (RBAC)` };
      throw lookupFailed(query, e);
    }
  };
}

function lookupFailed(query: OwnerQuery, cause: unknown): OwnerLookupError {
  return new OwnerLookupError(`could not look up owner ${query.kind} ${query.namespace}/${query.name} (${query.apiVersion}): ${apiErrorMessage(cause)}`, { cause });
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}
