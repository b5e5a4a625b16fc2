// Verifies an owner of any ECK kind (Agent, Beat, Logstash, ApmServer, EnterpriseSearch,
// ElasticMapsServer, ...) that the controller does not cache, by reading it from the
// apiserver, as ECK 3.5 does for every `*.k8s.elastic.co` owner (elastic/cloud-on-k8s#9561).
// Kinds are resolved by discovery, so kinds added by later ECK versions work too.
import * as k8s from "@kubernetes/client-node";
import { metrics } from "../metrics.ts";

/** The owner named by an ownerReference, looked for in the Secret's namespace. */
export interface OwnerQuery {
  apiVersion: string;
  kind: string;
  name: string;
  namespace: string;
}

export type OwnerLookupResult =
  | { found: { uid: string } }
  /** The kind is served, the object does not exist in that namespace. */
  | { notFound: true }
  /** Why the owner cannot be verified (kind not served, not allowed to read it). */
  | { problem: string };

export type OwnerLookup = (query: OwnerQuery) => Promise<OwnerLookupResult>;

/** A lookup failure that says nothing about the owner (apiserver unavailable): retry, do not judge. */
export class OwnerLookupError extends Error {
  readonly code = "OwnerLookupFailed";
  constructor(query: OwnerQuery, cause: unknown) {
    super(`could not look up owner ${query.kind} ${query.namespace}/${query.name} (${query.apiVersion}): ${describe(cause)}`);
    this.name = "OwnerLookupError";
  }
}

/** Exposes discovery (kind → resource), which KubernetesObjectApi keeps protected; it caches per apiVersion. */
class OwnerApi extends k8s.KubernetesObjectApi {
  discover(apiVersion: string, kind: string): Promise<k8s.V1APIResource | undefined> {
    return this.resource(apiVersion, kind);
  }
}

export function kubeOwnerLookup(kc: k8s.KubeConfig): OwnerLookup {
  const api = kc.makeApiClient(OwnerApi);
  return async (query) => {
    const served = `${query.kind} (${query.apiVersion})`;
    let resource: k8s.V1APIResource | undefined;
    try {
      resource = await api.discover(query.apiVersion, query.kind);
    } catch (e) {
      if (statusOf(e) === 404) return { problem: `owner kind ${served} is not served by this cluster (its CRD is not installed)` };
      if (statusOf(e) === 403) return { problem: `the controller may not discover ${query.apiVersion} to check owner ${query.kind} ${query.name}` };
      throw new OwnerLookupError(query, e);
    }
    if (!resource) return { problem: `owner kind ${served} is not served by this cluster (its CRD is not installed)` };
    if (!resource.namespaced) return { problem: `owner kind ${served} is cluster-scoped; an owner must live in the Secret's namespace` };
    metrics.inc("es_mtls_controller_owner_lookups_total", { kind: query.kind });
    try {
      const owner = await api.read({ apiVersion: query.apiVersion, kind: query.kind, metadata: { name: query.name, namespace: query.namespace } });
      return { found: { uid: owner.metadata?.uid ?? "" } };
    } catch (e) {
      if (statusOf(e) === 404) return { notFound: true };
      if (statusOf(e) === 403) return { problem: `the controller may not get ${resource.name}.${apiGroup(query.apiVersion)} in namespace ${query.namespace} to check owner ${query.kind} ${query.name} (RBAC)` };
      throw new OwnerLookupError(query, e);
    }
  };
}

function statusOf(e: unknown): number | undefined {
  const code = (e as { code?: unknown })?.code;
  return typeof code === "number" ? code : undefined;
}

function describe(e: unknown): string {
  const body = (e as { body?: unknown })?.body;
  if (typeof body === "string") {
    try {
      return (JSON.parse(body) as { message?: string }).message ?? body;
    } catch {
      return body;
    }
  }
  return e instanceof Error ? e.message : String(e);
}

function apiGroup(apiVersion: string): string {
  const slash = apiVersion.indexOf("/");
  return slash < 0 ? "" : apiVersion.slice(0, slash);
}
