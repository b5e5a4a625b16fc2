// Who implements client-certificate authentication for a cluster (DESIGN.md, "Where it runs"),
// decided from what ECK really does, as the real ECK 3.5 operator shows it in
// test/integration/eck-operator.test.ts:
// - ECK writes the Elasticsearch's status on every pass (`status.observedGeneration`, `phase`,
//   `health`: pkg/controller/elasticsearch/reconcile/state.go). Nobody else writes it: es-mtls keeps
//   its own ClientAuthentication, and its standalone CRD has no writer. ECK also creates the
//   StatefulSets with a controller ownerReference, but the status is on the object itself (no
//   extra read) and comes in the same first pass. Owned Secrets are no signal: ECK's licence
//   controller writes `<es>-es-license` for every Elasticsearch, managed or not. ECK stopped
//   stamping `common.k8s.elastic.co/controller-version` after 1.9: it is never read.
// - Whether that ECK implements the feature (≥ 3.4) follows from its CRD: only ≥ 3.4's keeps
//   `spec.http.tls.client` (kube/crd-support.ts). ECK ≤ 3.3 never presents a client certificate
//   (its HTTP client, the readiness probe of ES < 8.2, the pre-stop hook, stack monitoring):
//   `required` would lock it out of its own cluster, so es-mtls refuses it there.
// When the CRD and the operator disagree: a ≥ 3.4 CRD with an older operator reads as "ECK
// implements it", so es-mtls stands aside and nobody does the work; its ManagedByECK message then
// says ECK's annotation is missing (reconcile/eck.ts). A ≤ 3.3 CRD with a newer operator prunes the
// field, so nothing can be switched on whoever runs the pods.
// The status stays when ECK's operator is removed with its CRDs kept, so such a cluster stays ECK's
// (es-mtls does not take over a cluster on its own); removing the CRDs deletes the Elasticsearches.
// An Elasticsearch created with the feature on may reach es-mtls before ECK's first pass: until ECK
// writes its status (seconds), es-mtls sees no ECK; see README, "Installing next to ECK".

export type Manager =
  | { by: "none" }
  | { by: "eck"; implementsFeature: true }
  | { by: "eck"; implementsFeature: false; reason: string };

interface WithStatus {
  status?: { observedGeneration?: number; phase?: string };
}

/** ECK has reconciled this Elasticsearch: it wrote the status, which only ECK writes. */
export function eckHasReconciled(es: WithStatus): boolean {
  const s = es.status;
  return (typeof s?.observedGeneration === "number" && s.observedGeneration > 0) || (typeof s?.phase === "string" && s.phase !== "");
}

/**
 * `crdKeepsClient`: the installed Elasticsearch CRD keeps spec.http.tls.client (kube/crd-support.ts);
 * undefined: not read yet, and the safe side is to stand aside (no writes) until it is.
 */
export function managerOf(es: WithStatus, crdKeepsClient: boolean | undefined): Manager {
  if (!eckHasReconciled(es)) return { by: "none" };
  if (crdKeepsClient !== false) return { by: "eck", implementsFeature: true };
  return {
    by: "eck",
    implementsFeature: false,
    reason:
      `managed by an ECK older than 3.4 (its Elasticsearch CRD has no spec.http.tls.client), which never presents a client certificate to Elasticsearch: ` +
      `requiring one would lock ECK out (its HTTP client, the readiness probe of Elasticsearch < 8.2, the pre-stop hook, stack monitoring). ` +
      `Upgrade ECK to 3.4.0 or later, which implements client certificate authentication itself`,
  };
}
