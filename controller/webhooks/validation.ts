// ECK's admission rules for client-certificate authentication, with ECK's exact messages
// (eck-client-cert-auth.md §6, §8). Pure: the license level is passed in. The reconciler can call the
// same functions, so a cluster without the webhook (or with it unreachable) gets the same answer.

export interface License {
  /** `eck_license_level` from ECK's `elastic-licensing` ConfigMap; undefined when absent. */
  level: string | undefined;
}

/** One field error, as Kubernetes' field.Error prints it. */
export interface FieldError {
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

export const MSG_LICENSE = "client certificate authentication requires an enterprise license";
export const MSG_TLS = "client certificate authentication requires TLS to be enabled";
export const MSG_CLIENT_CERT_REF = "Invalid association reference: clientCertificateSecretName can only be used in combination with name";
export const MSG_NODESET_REQUIRED =
  'HTTP client authentication mode "required" is not supported when set via nodeSet configuration; use spec.http.tls.client.authentication (enterprise license) instead';

const CLIENT_AUTH_FIELD = "spec.http.tls.client.authentication";
const CLIENT_AUTH_SETTING = "xpack.security.http.ssl.client_authentication";

/** Enterprise, or a trial (both spellings ECK has written). */
export function enterpriseFeaturesEnabled(license: License): boolean {
  return ["enterprise", "enterprise_trial", "enterprise-trial"].includes((license.level ?? "").trim().toLowerCase());
}

// Loosely typed on purpose: admission requests carry whatever the user sent.
type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj | undefined => (v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : undefined);
const str = (v: unknown): string => (typeof v === "string" ? v : "");

export function validateElasticsearch(es: unknown, license: License): ValidationResult {
  const errors: FieldError[] = [];
  const warnings: string[] = [];
  const spec = obj(obj(es)?.spec);
  const tls = obj(obj(spec?.http)?.tls);
  if (obj(tls?.client)?.authentication === true) {
    // ECK's TLSOptions.Enabled(): a user-provided certificate keeps TLS on even with self-signed disabled.
    const selfSignedDisabled = obj(tls?.selfSignedCertificate)?.disabled === true;
    const userCertificate = str(obj(tls?.certificate)?.secretName) !== "";
    if (selfSignedDisabled && !userCertificate) errors.push({ type: "Invalid", field: CLIENT_AUTH_FIELD, value: true, detail: MSG_TLS });
    if (!enterpriseFeaturesEnabled(license)) errors.push({ type: "Forbidden", field: CLIENT_AUTH_FIELD, detail: MSG_LICENSE });
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

export function validateKibana(kb: unknown): ValidationResult {
  const errors: FieldError[] = [];
  const ref = obj(obj(obj(kb)?.spec)?.elasticsearchRef);
  if (ref && str(ref.clientCertificateSecretName) !== "" && (str(ref.name) === "" || str(ref.secretName) !== "")) {
    errors.push({ type: "Forbidden", field: "spec.elasticsearchRef", detail: MSG_CLIENT_CERT_REF });
  }
  return { errors, warnings: [] };
}

/** One error as Kubernetes prints it: `<field>: Forbidden: <detail>` / `<field>: Invalid value: <v>: <detail>`. */
export function formatFieldError(e: FieldError): string {
  if (e.type === "Forbidden") return `${e.field}: Forbidden: ${e.detail}`;
  return `${e.field}: Invalid value: ${JSON.stringify(e.value)}: ${e.detail}`;
}

/** The apiserver's "is invalid" message (apierrors.NewInvalid), so kubectl shows what ECK's webhook shows. */
export function invalidMessage(kind: string, group: string, name: string, errors: FieldError[]): string {
  const list = errors.map(formatFieldError);
  const aggregate = list.length === 1 ? list[0]! : `[${list.join(", ")}]`;
  return `${kind}.${group} ${JSON.stringify(name)} is invalid: ${aggregate}`;
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
