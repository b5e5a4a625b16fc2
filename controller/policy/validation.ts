// ECK's rules for client-certificate authentication, with ECK's exact messages
// (eck-client-cert-auth.md §6, §8): one home for the admission webhook and the reconciler, so a
// cluster without the webhook (or with it unreachable) gets the same answer.
//
// Failure idiom of policy/: pure functions that return data (a list of field errors, or
// `{ ok: true } | { ok: false, … }` with the reasons); nothing here throws or does I/O.
import { MSG_LICENSE, type LicenseVerdict } from "./license.ts";

/** One field error, as Kubernetes' field.Error prints it. */
interface FieldError {
  type: "Invalid" | "Forbidden";
  field: string;
  detail: string;
  /** Invalid only: the offending value. */
  value?: unknown;
}

export interface ValidationResult {
  errors: FieldError[];
  /** Allowed, but worth telling the user (AdmissionResponse.warnings). */
  warnings: string[];
}

export const MSG_TLS = "client certificate authentication requires TLS to be enabled";
const INVALID_REF = "Invalid association reference: ";
export const MSG_CLIENT_CERT_REF = `${INVALID_REF}clientCertificateSecretName can only be used in combination with name`;
/** ECK's ObjectSelector rules (pkg/apis/common/v1/common.go, IsValid), checked in ECK's order: the first that fails is reported. */
export const MSG_NAME_AND_SECRET_NAME = `${INVALID_REF}specify name or secretName, not both`;
export const MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE = `${INVALID_REF}serviceName or namespace can only be used in combination with name, not with secretName`;
export const MSG_SERVICE_NAME_WITHOUT_NAME = `${INVALID_REF}serviceName can only be used in combination with name`;
export const MSG_NAMESPACE_WITHOUT_NAME = `${INVALID_REF}namespace can only be used in combination with name`;
export const MSG_NODESET_REQUIRED =
  'HTTP client authentication mode "required" is not supported when set via nodeSet configuration; use spec.http.tls.client.authentication (enterprise license) instead';

const CLIENT_AUTH_FIELD = "spec.http.tls.client.authentication";
const CLIENT_AUTH_SETTING = "xpack.security.http.ssl.client_authentication";

// Loosely typed on purpose: admission requests carry whatever the user sent.
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

export function validateElasticsearch(es: unknown, license: LicenseVerdict): ValidationResult {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const spec = obj(obj(es)?.spec);
  const enablement = enablementCheck(es, license);
  if (!enablement.ok) {
    for (const problem of enablement.problems) {
      if (problem.reason === "TLSDisabled") errors.push({ type: "Invalid", field: CLIENT_AUTH_FIELD, value: true, detail: MSG_TLS });
      else errors.push({ type: "Forbidden", field: CLIENT_AUTH_FIELD, detail: problem.message });
    }
  }
  const nodeSets = Array.isArray(spec?.nodeSets) ? spec.nodeSets : [];
  for (const nodeSet of nodeSets) {
    const value = flatten(obj(obj(nodeSet)?.config))[CLIENT_AUTH_SETTING];
    if (typeof value === "string" && value.trim().toLowerCase() === "required") {
      warnings.push(MSG_NODESET_REQUIRED);
      break;
    }
  }
  return { errors, warnings };
}

/** `spec.http.tls.client.authentication: true`: the user asks for client-certificate authentication. */
export function requestsClientAuthentication(es: unknown): boolean {
  return obj(obj(obj(obj(obj(es)?.spec)?.http)?.tls)?.client)?.authentication === true;
}

/** ECK's TLSOptions.Enabled(): off only when the self-signed certificate is disabled and no user certificate is set. */
function httpTlsEnabled(es: unknown): boolean {
  const tls = obj(obj(obj(obj(es)?.spec)?.http)?.tls);
  const selfSignedDisabled = obj(tls?.selfSignedCertificate)?.disabled === true;
  const userCertificate = str(obj(tls?.certificate)?.secretName) !== "";
  return !selfSignedDisabled || userCertificate;
}

export type EnablementProblem =
  | { reason: "TLSDisabled"; message: string }
  | { reason: "LicenseRequired"; message: string }
  /** ECK is installed but its licence cannot be read (license.ts): refused until it can. */
  | { reason: "LicenseUnknown"; message: string }
  | { reason: "ECKTooOld"; message: string }
  /** A probe or hook of an Elasticsearch pod calls it over HTTPS in a way `required` would break (https-probes.ts). */
  | { reason: "ProbeWouldFail"; message: string }
  /** The Elasticsearch pods' own HTTP truststore or elasticsearch.yml cannot keep its CAs next to the bundle (user-http-trust.ts). */
  | { reason: "UserTrustConflict"; message: string }
  /** A Kibana of the cluster would not let the agent read its start time (kibana-proof.ts). */
  | { reason: "KibanaProofUnavailable"; message: string }
  /** A Kibana of the official chart, whose hook Jobs present no certificate, without the annotation saying they are skipped (kibana-chart-hooks.ts). */
  | { reason: "KibanaChartHooksWouldFail"; message: string };

/**
 * Whether client authentication, when requested, may be switched on: TLS on and the licence rule
 * that applies (license.ts) allowing it (ECK's order: TLS first). A spec that does not request it
 * has nothing to check.
 */
export function enablementCheck(es: unknown, license: LicenseVerdict): { ok: true } | { ok: false; problems: EnablementProblem[] } {
  if (!requestsClientAuthentication(es)) return { ok: true };
  const problems: EnablementProblem[] = [];
  if (!httpTlsEnabled(es)) problems.push({ reason: "TLSDisabled", message: MSG_TLS });
  if (!license.allows) problems.push({ reason: license.reason === "LicenseUnknown" ? "LicenseUnknown" : "LicenseRequired", message: license.refusal ?? MSG_LICENSE });
  return problems.length ? { ok: false, problems } : { ok: true };
}

export function validateKibana(kb: unknown): ValidationResult {
  const errors: FieldError[] = [];
  const ref = obj(obj(obj(kb)?.spec)?.elasticsearchRef);
  const detail = ref ? selectorProblem(ref) : undefined;
  if (detail) errors.push({ type: "Forbidden", field: "spec.elasticsearchRef", detail });
  return { errors, warnings: [] };
}

/** ECK's ElasticsearchSelector.IsValid: the ObjectSelector rules first, then clientCertificateSecretName. */
function selectorProblem(ref: Obj): string | undefined {
  const [name, secretName, serviceName, namespace] = [str(ref.name), str(ref.secretName), str(ref.serviceName), str(ref.namespace)];
  if (name && secretName) return MSG_NAME_AND_SECRET_NAME;
  if (secretName && (serviceName || namespace)) return MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE;
  if (!name && serviceName) return MSG_SERVICE_NAME_WITHOUT_NAME;
  if (!name && namespace) return MSG_NAMESPACE_WITHOUT_NAME;
  if (!name && str(ref.clientCertificateSecretName)) return MSG_CLIENT_CERT_REF;
  return undefined;
}

/** One error as Kubernetes prints it: `<field>: Forbidden: <detail>` / `<field>: Invalid value: <v>: <detail>`. */
function formatFieldError(e: FieldError): string {
  if (e.type === "Forbidden") return `${e.field}: Forbidden: ${e.detail}`;
  return `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`;
}

/** The apiserver's "is invalid" message (apierrors.NewInvalid), so kubectl shows what ECK's webhook shows. */
export function invalidMessage(kind: string, group: string, name: string, errors: FieldError[]): string {
  const list = errors.map(formatFieldError);
  const aggregate = list.length === 1 ? list[0]! : `[${list.join(", ")}]`;
  return `${kind}.${group} ${JSON.stringify(name)} is invalid: ${aggregate}`;
}

/**
 * nodeSet `config` values of client_authentication that the injected environment overrides (the
 * image's environment wins over elasticsearch.yml): ineffective while es-mtls is on, and said so, as
 * ECK says "spec.http.tls.client.authentication is ineffective due to …" the other way round.
 */
export function ineffectiveNodeSetSettings(es: unknown, injected: string): Array<{ nodeSet: string; setting: string; value: string }> {
  const nodeSets = obj(obj(es)?.spec)?.nodeSets;
  const out: Array<{ nodeSet: string; setting: string; value: string }> = [];
  for (const nodeSet of Array.isArray(nodeSets) ? nodeSets : []) {
    const value = flatten(obj(obj(nodeSet)?.config))[CLIENT_AUTH_SETTING];
    if (value !== undefined && String(value).trim().toLowerCase() !== injected) out.push({ nodeSet: str(obj(nodeSet)?.name), setting: CLIENT_AUTH_SETTING, value: String(value) });
  }
  return out;
}

/** `{a: {b: 1}, "c.d": 2}` → `{"a.b": 1, "c.d": 2}`: ES config may be nested or dotted. */
function flatten(config: Obj | undefined, prefix = "", out: Obj = {}): Obj {
  for (const [k, v] of Object.entries(config ?? {})) {
    const key = prefix ? `${prefix}.${k}` : k;
    const nested = obj(v);
    if (nested) flatten(nested, key, out);
    else out[key] = v;
  }
  return out;
}
