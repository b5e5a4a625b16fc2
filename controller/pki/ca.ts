// Self-signed ECDSA P-256 certificate authorities: the per-cluster client CA (signs agent
// and controller client certificates) and, through serving.ts, the controller's serving CA.
import { x509 } from "../../common/x509.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "./keys.ts";
import { DEFAULT_VALIDITY_MS, NOT_BEFORE_BACKDATE_MS } from "./durations.ts";
import { fromTlsSecretData, type CertifiedKey } from "./key-pair-certificate.ts";
import { PkiMaterialError } from "../errors.ts";

export { shouldRotate, rotateIn, DEFAULT_ROTATE_BEFORE_MS } from "./durations.ts";
export { toTlsSecretData as caToSecretData } from "./key-pair-certificate.ts";

export type CertificateAuthority = CertifiedKey;

export interface CreateCaOptions {
  commonName: string;
  organizationalUnit?: string;
  /** Default 1 year, as ECK's --ca-cert-validity. */
  validityMs?: number;
  now?: Date;
}

export async function createCertificateAuthority(options: CreateCaOptions): Promise<CertificateAuthority> {
  const now = options.now ?? new Date();
  const keys = await generateP256KeyPair();
  const name: x509.JsonName = [{ CN: [options.commonName] }];
  if (options.organizationalUnit) name.push({ OU: [options.organizationalUnit] });
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name,
    keys,
    signingAlgorithm: ECDSA_SHA256,
    notBefore: new Date(now.getTime() - NOT_BEFORE_BACKDATE_MS),
    notAfter: new Date(now.getTime() + (options.validityMs ?? DEFAULT_VALIDITY_MS)),
    extensions: [
      // pathLen 0: the CA signs leaves only, never another CA.
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certificate, privateKey: keys.privateKey };
}

/** The client CA of one Elasticsearch cluster. */
export function createClientCa(esName: string, options: Omit<CreateCaOptions, "commonName" | "organizationalUnit"> = {}) {
  return createCertificateAuthority({ ...options, commonName: `${esName}-es-client-ca`, organizationalUnit: esName });
}

/** Reads a CA back from its Secret data; throws a PkiMaterialError with a reason if it is not a usable CA. */
export async function caFromSecretData(data: Record<string, string> | undefined): Promise<CertificateAuthority> {
  const ca = await fromTlsSecretData(data);
  const constraints = ca.certificate.getExtension(x509.BasicConstraintsExtension);
  if (!constraints?.ca) throw new PkiMaterialError("tls.crt: not a CA certificate (BasicConstraints CA:TRUE missing)");
  const usage = ca.certificate.getExtension(x509.KeyUsagesExtension);
  if (!usage || (usage.usages & x509.KeyUsageFlags.keyCertSign) === 0) {
    throw new PkiMaterialError("tls.crt: CA certificate lacks the keyCertSign key usage");
  }
  return ca;
}
