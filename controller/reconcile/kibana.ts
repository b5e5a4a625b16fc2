// The identity each Kibana presents to its Elasticsearch: managed (its agent's
// CSR, signed by the cluster's client CA; CN = OU = Kibana name) or the user's
// own Secret (clientCertificateSecretName, in the Kibana's namespace), whose
// certificate is pinned into the cluster's trust bundle. A missing or malformed
// user Secret publishes nothing for that Kibana: its pods keep what they have.
import type { V1Secret } from "@kubernetes/client-node";
import type { Identity } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";
import { isExpired } from "../../common/pem.ts";
import type { Elasticsearch, Kibana } from "../resources.ts";
import { USER_CERT_MOUNT_PATH } from "../names.ts";
import { managedIdentity } from "./intents.ts";

const MAX_USER_SECRET_BYTES = 64 * 1024;

export function referencesCluster(kb: Kibana, es: Elasticsearch): boolean {
  const ref = kb.spec?.elasticsearchRef;
  return !!ref?.name && ref.name === es.metadata.name && (ref.namespace || kb.metadata.namespace) === es.metadata.namespace;
}

export type KibanaIdentity =
  | { kibana: Kibana; ok: true; identity: Identity; pinned?: V1Secret }
  | { kibana: Kibana; ok: false; reason: string };

/** Checks a user-provided client certificate Secret: usable, or why not. */
export function checkUserSecret(secret: V1Secret | undefined, name: string, now = new Date()): { ok: true; secret: V1Secret } | { ok: false; reason: string } {
  if (!secret) return { ok: false, reason: `Secret ${name} (clientCertificateSecretName) does not exist` };
  const problem = userSecretProblem(secret, name, now);
  return problem ? { ok: false, reason: problem } : { ok: true, secret };
}

function userSecretProblem(secret: V1Secret, name: string, now: Date): string | undefined {
  const crt = secret.data?.["tls.crt"];
  const key = secret.data?.["tls.key"];
  if (!crt || !key) return `Secret ${name} must have both tls.crt and tls.key (has: ${Object.keys(secret.data ?? {}).join(", ") || "nothing"})`;
  if (crt.length + key.length > (MAX_USER_SECRET_BYTES * 4) / 3) return `Secret ${name} is larger than ${MAX_USER_SECRET_BYTES} bytes`;
  const crtPem = atob(crt);
  const keyPem = atob(key);
  if (/PRIVATE KEY-----/.test(crtPem)) return `Secret ${name}: tls.crt contains a private key`;
  if (!/-----BEGIN (RSA |EC )?PRIVATE KEY-----/.test(keyPem)) return `Secret ${name}: tls.key is not a PEM private key`;
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(crtPem);
  } catch (e) {
    return `Secret ${name}: tls.crt is not a PEM certificate (${e instanceof Error ? e.message : e})`;
  }
  if (isExpired(cert.notAfter, now)) return `Secret ${name}: the certificate expired at ${cert.notAfter.toISOString()}`;
  if (cert.notBefore > now) return `Secret ${name}: the certificate is not valid before ${cert.notBefore.toISOString()}`;
  return undefined;
}

export function kibanaIdentity(
  kb: Kibana,
  userSecret: V1Secret | undefined,
  settings: { certValiditySeconds: number; clusterNamespace?: string },
): KibanaIdentity {
  const userSecretName = kb.spec?.elasticsearchRef?.clientCertificateSecretName;
  if (userSecretName) {
    const checked = checkUserSecret(userSecret, userSecretName);
    if (!checked.ok) return { kibana: kb, ok: false, reason: checked.reason };
    return { kibana: kb, ok: true, identity: { source: "userProvided", mountPath: USER_CERT_MOUNT_PATH }, pinned: checked.secret };
  }
  // ECK's subject (CN = OU = Kibana name) in the cluster's namespace; across namespaces the OU
  // carries the Kibana's namespace, so two Kibanas of one name in two namespaces differ.
  const ou = settings.clusterNamespace === undefined || settings.clusterNamespace === kb.metadata.namespace ? kb.metadata.name : `${kb.metadata.namespace}/${kb.metadata.name}`;
  return { kibana: kb, ok: true, identity: managedIdentity(kb.metadata.name, ou, settings.certValiditySeconds) };
}
