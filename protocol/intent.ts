// The controller–agent contract (intent API, version 1). Both sides import this
// module; it is the source of truth that ../shared/PROTOCOL.md started.

/** Audience of the projected service-account token an agent presents. */
export const INTENT_API_AUDIENCE = "mtls.es-mtls.io/intent-api";

export const PATHS = {
  intent: "/v1/intent",
  certificate: "/v1/certificate",
  status: "/v1/status",
} as const;

/** Largest request or intent body either side accepts, in bytes. */
export const MAX_BODY_BYTES = 1024 * 1024;

/** Interval of `{"type":"heartbeat"}` lines on the intent stream. */
export const HEARTBEAT_INTERVAL_MS = 10_000;

export type Role = "elasticsearch" | "kibana";
export type Enforcement = "none" | "optional" | "required";

/** The cluster's transition phase, as persisted by the controller. */
export type Phase =
  | "Disabled"
  | "Enabling" // trust distributed, ES pods rolling into `required`
  | "Enabled"
  | "Disabling" // ES pods rolling out of `required`, clients still present certs
  | "Blocked" // e.g. no enterprise license: nothing is enabled
  | "ManagedByECK"; // ECK ≥ 3.4 implements the feature for this cluster: es-mtls stands aside

export interface PodRef {
  namespace: string;
  name: string;
  uid: string;
}

export interface ClusterRef {
  namespace: string;
  name: string;
}

export interface ManagedIdentity {
  source: "managed";
  subject: { commonName: string; organizationalUnit: string };
  keyAlgorithm: "ECDSA-P256" | "RSA-2048";
  /** Requested certificate lifetime in seconds. */
  validitySeconds: number;
  /** Renew at this fraction of the lifetime (jittered ±10 % by the agent). */
  renewAtFraction: number;
}

interface UserProvidedIdentity {
  source: "userProvided";
  /** Directory holding the user's tls.crt and tls.key, mounted by injection. */
  mountPath: string;
}

/**
 * A certificate the agent makes and signs itself, in the pod: trusted by nobody. For a pod whose
 * cluster no longer uses client authentication, so a workload configured to present a
 * certificate (Kibana reads its files at start) still finds one and starts.
 */
export interface SelfSignedIdentity {
  source: "selfSigned";
  subject: { commonName: string; organizationalUnit: string };
  keyAlgorithm: "ECDSA-P256" | "RSA-2048";
  validitySeconds: number;
}

export type Identity = ManagedIdentity | UserProvidedIdentity | SelfSignedIdentity;

export interface FileLayout {
  /** Directory the agent owns; files appear in it through a `..data` link. */
  dir: string;
  bundle: string; // e.g. "client-trust-bundle.crt"
  certificate: string; // e.g. "tls.crt"
  key: string; // e.g. "tls.key"
  /** File mode, e.g. 0o440. */
  mode: number;
  uid: number;
  gid: number;
}

export interface TrustBundle {
  pem: string;
  sha256: string; // hex of the PEM text as written to disk
}

export interface Intent {
  type: "intent";
  generation: number;
  pod: PodRef;
  role: Role;
  cluster: ClusterRef;
  phase: Phase;
  enforcement: Enforcement;
  /** Elasticsearch role only. */
  trustBundle?: TrustBundle;
  /** The identity to present to Elasticsearch (Kibana; ES pods present none). */
  identity?: Identity;
  files: FileLayout;
  /** Elasticsearch, when the pod has the probe volume: the local probe identity curl picks up (ProbeIdentity). */
  probe?: ProbeIdentity;
}

/**
 * A client identity for HTTPS probes and hooks that run inside the Elasticsearch container (the
 * official Helm chart's curl readiness probe): the agent writes `file` (certificate chain and key,
 * one file so a reader never pairs an old certificate with a new key) and a `.curlrc` naming it into
 * `dir`, which injection gives the container as `CURL_HOME`; curl reads `$CURL_HOME/.curlrc` by itself.
 */
export interface ProbeIdentity {
  identity: ManagedIdentity;
  /** Absolute directory in the pod (its own volume); `.curlrc` and `file` appear in it. */
  dir: string;
  /** e.g. "probe.pem" */
  file: string;
}

interface Heartbeat {
  type: "heartbeat";
  at: string;
}

/**
 * One line of `GET /v1/intent`. The stream ends when the pod's intent is removed, when the pod
 * is gone, and when the token that opened it expires (reconnect with the rotated token).
 */
export type StreamLine = Intent | Heartbeat;

export interface CertificateRequest {
  /** The intent generation the CSR answers; one newer than the pod's current intent is refused. */
  generation: number;
  csr: string; // PKCS#10 PEM
}

export interface CertificateResponse {
  certificate: string; // leaf PEM
  chain: string; // issuing CA(s) PEM
  notBefore: string; // RFC 3339
  notAfter: string;
}

export type ProofResult = "accepted" | "refused" | "error";

export interface Proof {
  checkedAt: string;
  withCertificate: ProofResult;
  withoutCertificate: ProofResult;
  detail: string;
}

export interface StatusReport {
  generation: number;
  /** sha256 of the applied intent's trustBundle.pem (what the controller compares). */
  bundleSha256?: string;
  /**
   * Set only when the agent left expired entries out of that bundle: sha256 of the file on disk.
   * Each drop is also an `errors[]` entry (what: "bundle").
   */
  bundleOnDiskSha256?: string;
  certificate?: { sha256: string; notAfter: string };
  proof?: Proof;
  /** Kibana: the running process presents an older identity than on disk. */
  restartRequired?: boolean;
  ready: boolean;
  errors: Array<{ at: string; what: string; detail: string }>;
}

/**
 * The machine word of an error answer: 400 bad_request / csr_refused, 401 unauthorized (no,
 * invalid, expired or wrong-audience token), 403 forbidden (valid token, but the pod is gone, its
 * UID differs, or it has no intent), 404 not_found, 413 too_large, 429 too_many_streams (the pod
 * already holds the most intent streams allowed: retry with backoff), 500 internal, 503 unavailable
 * (the controller cannot verify tokens right now: retry).
 */
export type ApiErrorWord = "bad_request" | "csr_refused" | "unauthorized" | "forbidden" | "not_found" | "too_large" | "too_many_streams" | "rate_limited" | "internal" | "unavailable";

export interface ApiError {
  error: ApiErrorWord;
  reason: string; // what was wrong, for a human
}
