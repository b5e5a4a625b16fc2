// Authenticates agents by their projected service-account token: signature against the
// kube-apiserver's JWKS, the intent API's dedicated audience, the issuer, and the pod the
// token is bound to, which must still exist with the same UID in the controller's pod cache.
import { createRemoteJWKSet, customFetch, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import { INTENT_API_AUDIENCE, type PodRef } from "../../protocol/intent.ts";

/** The controller's pod cache: the live pod's UID and phase, or undefined when no such pod exists. */
type PodLookup = (namespace: string, name: string) => { uid: string; phase?: string } | undefined;

/**
 * Phases of a pod whose containers all ended for good: its identity ends with it (issue 18 finding
 * 5), so a token bound to it gets no intent and no certificate, though the pod object remains.
 */
const COMPLETED_PHASES: ReadonlySet<string> = new Set(["Succeeded", "Failed"]);

type Authentication =
  | { ok: true; pod: PodRef; expiresAt: Date }
  | { ok: false; status: 401 | 403 | 503; error: "unauthorized" | "forbidden" | "unavailable"; reason: string };

export interface TokenVerifier {
  authenticate(authorization: string | null | undefined): Promise<Authentication>;
  /** True while the pod still exists with the UID the token was bound to, and has not completed. */
  isPodCurrent(pod: PodRef): boolean;
}

interface TokenVerifierOptions {
  jwks: JWTVerifyGetKey;
  /** The apiserver's --service-account-issuer. */
  issuer: string | string[];
  audience?: string;
  pods: PodLookup;
  algorithms?: string[];
  clockToleranceSeconds?: number;
}

interface KubernetesClaims {
  namespace?: unknown;
  pod?: { name?: unknown; uid?: unknown };
}

export function createTokenVerifier(options: TokenVerifierOptions): TokenVerifier {
  const unauthorized = (reason: string): Authentication => ({ ok: false, status: 401, error: "unauthorized", reason });
  const forbidden = (reason: string): Authentication => ({ ok: false, status: 403, error: "forbidden", reason });

  return {
    async authenticate(authorization) {
      const match = /^Bearer ([^\s]+)$/.exec(authorization ?? "");
      if (!match) return unauthorized("missing bearer token: send Authorization: Bearer <projected service-account token>");
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(match[1]!, options.jwks, {
          audience: options.audience ?? INTENT_API_AUDIENCE,
          issuer: options.issuer,
          algorithms: options.algorithms ?? ["RS256", "ES256"],
          clockTolerance: options.clockToleranceSeconds ?? 5,
          requiredClaims: ["exp", "iat"],
        }));
      } catch (error) {
        if (isJwksUnavailable(error)) {
          return { ok: false, status: 503, error: "unavailable", reason: "cannot fetch the kube-apiserver JWKS to verify the token" };
        }
        return unauthorized(describeJoseError(error as errors.JOSEError, options.audience ?? INTENT_API_AUDIENCE));
      }
      const k8s = payload["kubernetes.io"] as KubernetesClaims | undefined;
      const namespace = k8s?.namespace;
      const name = k8s?.pod?.name;
      const uid = k8s?.pod?.uid;
      if (typeof namespace !== "string" || typeof name !== "string" || typeof uid !== "string") {
        return unauthorized("token is not bound to a pod (no kubernetes.io pod claims); use a projected service-account token");
      }
      const live = options.pods(namespace, name);
      if (!live) return forbidden(`pod ${namespace}/${name} does not exist`);
      if (live.uid !== uid) return forbidden(`token was issued for pod ${namespace}/${name} with UID ${uid}, the pod now has UID ${live.uid}`);
      if (live.phase && COMPLETED_PHASES.has(live.phase)) return forbidden(`pod ${namespace}/${name} has completed (phase ${live.phase}): a completed pod gets no intent and no certificate`);
      return { ok: true, pod: { namespace, name, uid }, expiresAt: new Date((payload.exp ?? 0) * 1000) };
    },
    isPodCurrent(pod) {
      const live = options.pods(pod.namespace, pod.name);
      return live?.uid === pod.uid && !(live.phase && COMPLETED_PHASES.has(live.phase));
    },
  };
}

/** Failures on the controller's side (apiserver unreachable, bad JWKS answer), not the token's. */
function isJwksUnavailable(error: unknown): boolean {
  if (!(error instanceof errors.JOSEError)) return true;
  return error instanceof errors.JWKSTimeout || error instanceof errors.JWKSInvalid || error.code === errors.JOSEError.code;
}

function describeJoseError(error: errors.JOSEError, audience: string): string {
  if (error instanceof errors.JWTExpired) return "token has expired";
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === "aud") return `token audience is not "${audience}"`;
    if (error.claim === "iss") return "token issuer is not the cluster's service-account issuer";
    return `token claim "${error.claim}" is invalid: ${error.reason}`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return "token is signed with a key the kube-apiserver does not publish";
  if (error instanceof errors.JWSSignatureVerificationFailed) return "token signature does not verify";
  if (error instanceof errors.JOSEAlgNotAllowed) return "token signing algorithm is not allowed";
  return `token is malformed (${error.code})`;
}

interface ApiserverJwksOptions {
  /** e.g. https://kubernetes.default.svc/openid/v1/jwks */
  url: string | URL;
  /** PEM of the apiserver's serving CA (in a pod: /var/run/secrets/kubernetes.io/serviceaccount/ca.crt). */
  caPem: string;
  /** The controller's own bearer token, read on every fetch because the kubelet rotates it. */
  bearerToken: () => string | Promise<string>;
  timeoutMs?: number;
  /** Minimum time between fetches triggered by an unknown `kid` (jose's default 30 s). */
  cooldownMs?: number;
}

/**
 * A JWKS resolver against the kube-apiserver. jose caches keys and refetches when a token
 * names an unknown `kid`; the fetch trusts only the apiserver CA (Bun's `tls` fetch option).
 */
export function apiserverJwks(options: ApiserverJwksOptions): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(options.url), {
    timeoutDuration: options.timeoutMs ?? 5000,
    ...(options.cooldownMs !== undefined ? { cooldownDuration: options.cooldownMs } : {}),
    [customFetch]: async (url, init) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${await options.bearerToken()}`);
      return fetch(url, { ...init, headers, tls: { ca: options.caPem } });
    },
  });
}
