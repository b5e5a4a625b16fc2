// The admission webhooks as a hono app speaking AdmissionReview v1: sidecar injection on Pod CREATE
// and ECK's validation of Elasticsearch and Kibana (the rules live in policy/, shared with the
// reconciler). What the controller knows (cluster mode, license) comes in as lookup functions, so
// the app holds no state and any replica answers the same.
//
// Failure idiom of admission/: the decisions are pure and return data (injectPod: a patch or why
// it skipped; policy/'s field errors); a lookup that throws is turned into the failurePolicy's
// answer here, and nothing else in this folder throws on bad input.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { V1Pod } from "@kubernetes/client-node";
import { injectPod, type InjectionResult } from "./injection.ts";
import type { InjectionConfig } from "./injection-config.ts";
import type { ClusterMode } from "./cluster-mode.ts";
import { invalidMessage, requestsClientAuthentication, validateElasticsearch, validateKibana, type ValidationResult } from "../policy/validation.ts";
import { licenseVerdict, type LicensingObservation } from "../policy/license.ts";
import { WEBHOOK_PATHS } from "../names.ts";

export type FailurePolicy = "Fail" | "Ignore";

interface WebhookDependencies {
  /** Read per request, so a rotated controller CA reaches new pods at once. */
  injection: () => InjectionConfig;
  /** The cluster mode of a new pod (its namespace filled in), or undefined for pods of non-mTLS clusters. */
  clusterMode: (pod: V1Pod) => ClusterMode | undefined | Promise<ClusterMode | undefined>;
  /** What the controller saw of ECK's licensing, judged by the same rule the reconciler applies. */
  licensing: () => LicensingObservation | Promise<LicensingObservation>;
  /**
   * What an answer is when a lookup fails (e.g. caches not synced yet): "Fail" refuses, as the
   * apiserver would with the webhook down; "Ignore" admits unchanged. Match the configurations'.
   */
  failurePolicy?: FailurePolicy;
  /** Called for every pod decision (logging, metrics, events). */
  onInjection?: (pod: { namespace: string; name: string }, result: InjectionResult) => void;
  onError?: (what: string, error: unknown) => void;
}

interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  namespace?: string;
  name?: string;
  operation?: string;
  object?: unknown;
}

interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  patchType?: "JSONPatch";
  patch?: string;
  status?: { code: number; reason?: string; message: string };
  warnings?: string[];
}

const MAX_REVIEW_BYTES = 3 * 1024 * 1024; // the apiserver caps objects at ~1.5 MiB; a review holds up to two

export function createWebhookApp(deps: WebhookDependencies): Hono {
  const app = new Hono();
  const failurePolicy = deps.failurePolicy ?? "Fail";
  const reportError = deps.onError ?? (() => {});

  app.use("*", bodyLimit({ maxSize: MAX_REVIEW_BYTES, onError: (c) => c.json({ error: "too_large", reason: "AdmissionReview too large" }, 413) }));

  app.post(WEBHOOK_PATHS.mutatePods, (c) =>
    review(c, async (request) => {
      if (request.operation !== "CREATE" || request.kind?.kind !== "Pod") return { uid: request.uid, allowed: true };
      const pod = structuredClone((request.object ?? {}) as V1Pod);
      pod.metadata ??= {};
      pod.metadata.namespace ??= request.namespace ?? "";
      let mode: ClusterMode | undefined;
      try {
        mode = await deps.clusterMode(pod);
      } catch (error) {
        reportError("cluster mode lookup", error);
        return lookupFailed(request.uid, "cannot tell whether this pod belongs to a cluster with client authentication", error);
      }
      const result = injectPod(pod, mode, deps.injection());
      deps.onInjection?.({ namespace: pod.metadata.namespace, name: pod.metadata.name ?? pod.metadata.generateName ?? "" }, result);
      if (result.refused) return { uid: request.uid, allowed: false, status: { code: 403, reason: "Forbidden", message: result.refused } };
      if (result.patch.length === 0) return { uid: request.uid, allowed: true };
      const warnings = result.warnings?.length ? { warnings: result.warnings } : {};
      return { uid: request.uid, allowed: true, patchType: "JSONPatch", patch: Buffer.from(JSON.stringify(result.patch)).toString("base64"), ...warnings };
    }),
  );

  app.post(WEBHOOK_PATHS.validateElasticsearch, (c) =>
    review(c, async (request) => {
      if (!isCreateOrUpdate(request)) return { uid: request.uid, allowed: true };
      let licensing: LicensingObservation = { eck: "off" };
      // The licence matters only when the feature is requested; no lookup otherwise.
      if (requestsClientAuthentication(request.object)) {
        try {
          licensing = await deps.licensing();
        } catch (error) {
          reportError("license lookup", error);
          return lookupFailed(request.uid, "cannot read the ECK license level", error);
        }
      }
      return answer(request, "Elasticsearch", "elasticsearch.k8s.elastic.co", validateElasticsearch(request.object, licenseVerdict(licensing)));
    }),
  );

  app.post(WEBHOOK_PATHS.validateKibana, (c) =>
    review(c, (request) =>
      isCreateOrUpdate(request) ? answer(request, "Kibana", "kibana.k8s.elastic.co", validateKibana(request.object)) : { uid: request.uid, allowed: true },
    ),
  );

  app.notFound((c) => c.json({ error: "not_found", reason: `no webhook at ${c.req.method} ${c.req.path}` }, 404));
  app.onError((error, c) => {
    reportError("webhook", error);
    return c.json({ error: "internal", reason: "internal error in the admission webhook" }, 500);
  });

  function lookupFailed(uid: string, what: string, error: unknown): AdmissionResponse {
    const message = `es-mtls: ${what}: ${error instanceof Error ? error.message : String(error)}`;
    if (failurePolicy === "Ignore") return { uid, allowed: true, warnings: [`${message}; admitted unchanged (failurePolicy Ignore)`] };
    return { uid, allowed: false, status: { code: 503, reason: "ServiceUnavailable", message: `${message}; retry shortly` } };
  }

  return app;
}

async function review(c: Context, decide: (request: AdmissionRequest) => AdmissionResponse | Promise<AdmissionResponse>) {
  let body: { apiVersion?: string; kind?: string; request?: AdmissionRequest };
  try {
    body = await c.req.json();
  } catch {
    return c.json({ error: "bad_request", reason: "body is not JSON" }, 400);
  }
  if (body?.kind !== "AdmissionReview" || body.apiVersion !== "admission.k8s.io/v1" || typeof body.request?.uid !== "string") {
    return c.json({ error: "bad_request", reason: "expected an admission.k8s.io/v1 AdmissionReview with a request" }, 400);
  }
  const response = await decide(body.request);
  return c.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
}

function answer(request: AdmissionRequest, kind: string, group: string, result: ValidationResult): AdmissionResponse {
  const warnings = result.warnings.length ? { warnings: result.warnings } : {};
  if (result.errors.length === 0) return { uid: request.uid, allowed: true, ...warnings };
  const name = request.name ?? ((request.object as { metadata?: { name?: string } })?.metadata?.name ?? "");
  return { uid: request.uid, allowed: false, status: { code: 422, reason: "Invalid", message: invalidMessage(kind, group, name, result.errors) }, ...warnings };
}

function isCreateOrUpdate(request: AdmissionRequest): boolean {
  return request.operation === "CREATE" || request.operation === "UPDATE";
}
