// Is a reference across namespaces allowed? A namespace is a trust boundary: a Kibana, or a
// labelled client-certificate Secret, in namespace B that points at the Elasticsearch in namespace
// A counts only when B's side may `get` that Elasticsearch, asked as ECK's --enforce-rbac-on-refs
// asks it: a SubjectAccessReview for the referencing object's ServiceAccount. Same-namespace
// references are always allowed. Answers are cached briefly (RBAC changes take effect within the
// TTL) so a reconcile costs no API call per reference, and so the webhook can ask synchronously.
// Signing a certificate asks afresh (`fresh`): a revoked RoleBinding stops the next renewal.
import * as k8s from "@kubernetes/client-node";
import { ELASTICSEARCH } from "../resources.ts";

interface ReferenceFrom {
  namespace: string;
  serviceAccount: string;
}
interface ReferenceTo {
  namespace: string;
  name: string;
}
type ReferenceDecision = { allowed: true } | { allowed: false; reason: string };

export interface ReferenceAuthorizer {
  /** The cached answer while fresh, else a SubjectAccessReview; `fresh: true` always asks (and caches the answer). */
  authorize(from: ReferenceFrom, to: ReferenceTo, options?: { fresh?: boolean }): Promise<ReferenceDecision>;
  /** The last answer, if still fresh; undefined when never asked or expired (callers treat it as "not yet"). */
  cached(from: ReferenceFrom, to: ReferenceTo): ReferenceDecision | undefined;
}

type AccessCheck = (user: string, to: ReferenceTo) => Promise<boolean>;

export function subjectAccessCheck(kc: k8s.KubeConfig): AccessCheck {
  const api = kc.makeApiClient(k8s.AuthorizationV1Api);
  return async (user, to) => {
    const review = await api.createSubjectAccessReview({
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        spec: {
          user,
          groups: ["system:serviceaccounts", `system:serviceaccounts:${user.split(":")[2]}`, "system:authenticated"],
          resourceAttributes: { group: ELASTICSEARCH.group, resource: ELASTICSEARCH.plural, verb: "get", namespace: to.namespace, name: to.name },
        },
      },
    });
    return review.status?.allowed === true;
  };
}

export function referenceAuthorizer(o: { enforce: boolean; check: AccessCheck; ttlMs?: number; deniedTtlMs?: number; now?: () => number }): ReferenceAuthorizer {
  // A grant is remembered longer than a refusal: RBAC given to fix a refusal takes effect soon.
  const ttlMs = o.ttlMs ?? 30_000;
  const deniedTtlMs = o.deniedTtlMs ?? 5_000;
  const now = o.now ?? Date.now;
  const answers = new Map<string, { at: number; decision: ReferenceDecision }>();
  const keyOf = (f: ReferenceFrom, t: ReferenceTo) => `${f.namespace}\0${f.serviceAccount}\0${t.namespace}\0${t.name}`;
  const trivial = (f: ReferenceFrom, t: ReferenceTo): ReferenceDecision | undefined => (!o.enforce || f.namespace === t.namespace ? { allowed: true } : undefined);
  return {
    cached(from, to) {
      const t = trivial(from, to);
      if (t) return t;
      const hit = answers.get(keyOf(from, to));
      return hit && now() - hit.at < (hit.decision.allowed ? ttlMs : deniedTtlMs) ? hit.decision : undefined;
    },
    async authorize(from, to, options) {
      const t = options?.fresh ? trivial(from, to) : this.cached(from, to);
      if (t) return t;
      const user = `system:serviceaccount:${from.namespace}:${from.serviceAccount}`;
      const allowed = await o.check(user, to);
      const decision: ReferenceDecision = allowed
        ? { allowed: true }
        : { allowed: false, reason: `ServiceAccount ${from.namespace}/${from.serviceAccount} may not get elasticsearches/${to.name} in namespace ${to.namespace} (cross-namespace references need RBAC, as ECK's --enforce-rbac-on-refs)` };
      answers.set(keyOf(from, to), { at: now(), decision });
      if (answers.size > 10_000) answers.delete(answers.keys().next().value!);
      return decision;
    },
  };
}
