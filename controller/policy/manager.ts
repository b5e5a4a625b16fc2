// Who implements client-certificate authentication for a cluster (DESIGN.md, "Where it runs"),
// decided from what ECK really does, as the real ECK 3.5 operator shows it
// (test/integration/eck-coexistence.test.ts, test/e2e/eck-operator.test.ts):
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
// - Before ECK's first pass (seconds after the object is created) nothing shows yet, and es-mtls
//   would otherwise race ECK for the same Secrets and annotation (seen with the real operator). So
//   under ECK's CRD an Elasticsearch es-mtls has not made active waits for ECK, unless it tells ECK
//   to skip it (`eck.k8s.elastic.co/managed: "false"`, pkg/controller/common/unmanaged.go). Under
//   es-mtls's standalone CRD no ECK reconciles anything.
// When the CRD and the operator disagree: a ≥ 3.4 CRD with an older operator reads as "ECK
// implements it", so es-mtls stands aside and nobody does the work; its ManagedByECK condition then
// says ECK's annotation is missing (reconcile/eck.ts). A ≤ 3.3 CRD with a newer operator prunes the
// field, so nothing can be switched on whoever runs the pods. The status stays when ECK's operator
// is removed with its CRDs kept, so such a cluster stays ECK's; README, "Installing next to ECK".
import { ECK_MANAGED_ANNOTATION } from "../names.ts";

export type Manager =
  | { by: "none" }
  | { by: "eck"; implementsFeature: true }
  | { by: "eck"; implementsFeature: false; reason: string }
  /** Under ECK's CRD, not reconciled by ECK yet: es-mtls waits, writing nothing to the cluster. */
  | { by: "eck-pending"; reason: string };

/** What the controller last read of the installed Elasticsearch CRD (kube/crd-support.ts). */
interface InstalledCrd {
  /** Keeps spec.http.tls.client (ECK ≥ 3.4's, or es-mtls's standalone one). */
  keepsClient: boolean;
  /** es-mtls's standalone CRD: no ECK operator reconciles its objects. */
  standalone: boolean;
}

interface ElasticsearchShown {
  metadata?: { annotations?: Record<string, string> };
  status?: { observedGeneration?: number; phase?: string };
}

/** ECK has reconciled this Elasticsearch: it wrote the status, which only ECK writes. */
export function eckHasReconciled(es: ElasticsearchShown): boolean {
  const s = es.status;
  return (typeof s?.observedGeneration === "number" && s.observedGeneration > 0) || (typeof s?.phase === "string" && s.phase !== "");
}

/**
 * `crd` undefined: not read (yet); `active`: es-mtls already runs the feature on this cluster
 * (Enabling, Enabled, Disabling), which it carries on until ECK shows up.
 */
export function managerOf(es: ElasticsearchShown, crd: InstalledCrd | undefined, active: boolean): Manager {
  if (eckHasReconciled(es)) {
    // CRD unread: standing aside is the side with no writes.
    if (crd?.keepsClient !== false) return { by: "eck", implementsFeature: true };
    return {
      by: "eck",
      implementsFeature: false,
      reason:
        `managed by an ECK older than 3.4 (its Elasticsearch CRD has no spec.http.tls.client), which never presents a client certificate to Elasticsearch: ` +
        `requiring one would lock ECK out (its HTTP client, the readiness probe of Elasticsearch < 8.2, the pre-stop hook, stack monitoring). ` +
        `Upgrade ECK to 3.4.0 or later, which implements client certificate authentication itself`,
    };
  }
  if (active || crd?.standalone || es.metadata?.annotations?.[ECK_MANAGED_ANNOTATION] === "false") return { by: "none" };
  return {
    by: "eck-pending",
    reason: crd
      ? `this Elasticsearch is under ECK's CRD and ECK has not reconciled it (it has no status): es-mtls leaves it to ECK. ` +
        `If no ECK operator runs here, annotate it ${ECK_MANAGED_ANNOTATION}: "false" (ECK then skips it) or install es-mtls's standalone CRDs`
      : `the installed Elasticsearch CRD could not be read yet, and ECK has not reconciled this Elasticsearch: es-mtls waits`,
  };
}
