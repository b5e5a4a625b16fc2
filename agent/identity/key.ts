// The pod's own identity: a key generated here with WebCrypto (it never leaves the pod), and what
// a certificate must match. The CSR is csr.ts's, the self-signed certificate self-signed.ts's.
import { encodePem } from "../../common/pem.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { IdentityError } from "../errors.ts";
import type { Certificate } from "../material/certificate.ts";
import { NAME_OID as OID } from "../../common/der/name.ts";

type KeyAlgorithm = ManagedIdentity["keyAlgorithm"];

const ALGS: Record<KeyAlgorithm, RsaHashedKeyGenParams | EcKeyGenParams> = {
  "ECDSA-P256": { name: "ECDSA", namedCurve: "P-256" },
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
};

export interface GeneratedKey {
  keys: CryptoKeyPair;
  algorithm: KeyAlgorithm;
  /** PKCS#8 PEM ("PRIVATE KEY"), the form Java clients need. */
  pkcs8Pem: string;
}

export async function generateKey(algorithm: KeyAlgorithm): Promise<GeneratedKey> {
  const params = ALGS[algorithm];
  if (!params) throw new IdentityError(`unsupported key algorithm "${algorithm}"`);
  const keys = (await crypto.subtle.generateKey(params, true, ["sign", "verify"])) as CryptoKeyPair;
  const der = await crypto.subtle.exportKey("pkcs8", keys.privateKey);
  return { keys, algorithm, pkcs8Pem: encodePem(der, "PRIVATE KEY") };
}

/** Does `cert` carry exactly the subject the intent asks for: one CN, one OU, equal? */
export function subjectMatches(cert: Certificate, subject: ManagedIdentity["subject"]): boolean {
  const values = (type: string) => cert.subjectAttributes.filter((a) => a.type === type).map((a) => a.value);
  return JSON.stringify(values(OID.CN)) === JSON.stringify([subject.commonName]) && JSON.stringify(values(OID.OU)) === JSON.stringify([subject.organizationalUnit]);
}

export function keyAlgorithmOf(cert: Certificate): KeyAlgorithm | undefined {
  const k = cert.publicKey();
  const d = k.asymmetricKeyDetails;
  if (k.asymmetricKeyType === "ec" && d?.namedCurve === "prime256v1") return "ECDSA-P256";
  // rsaEncryption and RSASSA-PSS keys alike, as @peculiar/x509's "RSA…" names were.
  if ((k.asymmetricKeyType === "rsa" || k.asymmetricKeyType === "rsa-pss") && d?.modulusLength === 2048) return "RSA-2048";
  return undefined;
}
