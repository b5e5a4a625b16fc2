// The pod's own identity: a key generated here with WebCrypto (it never leaves the
// pod), a PKCS#10 CSR for the controller to sign, and what a certificate must match.
import { x509 } from "../../common/x509.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { IdentityError } from "../errors.ts";

type KeyAlgorithm = ManagedIdentity["keyAlgorithm"];

const ALGS: Record<KeyAlgorithm, RsaHashedKeyGenParams | EcKeyGenParams> = {
  "ECDSA-P256": { name: "ECDSA", namedCurve: "P-256" },
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
};
const SIGNING: Record<KeyAlgorithm, Algorithm | EcdsaParams> = {
  "ECDSA-P256": { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5" },
};

export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

interface GeneratedKey {
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
  return { keys, algorithm, pkcs8Pem: x509.PemConverter.encode(der, "PRIVATE KEY") };
}

/** Subject as a structured name, so a comma or plus in a CN cannot change the DN's meaning. */
function subjectName(subject: ManagedIdentity["subject"]): x509.JsonName {
  return [{ CN: [subject.commonName] }, { OU: [subject.organizationalUnit] }];
}

/** What every client leaf the agent asks for or makes carries: clientAuth only, digitalSignature, not a CA. */
function clientLeafExtensions(): x509.Extension[] {
  return [
    new x509.ExtendedKeyUsageExtension([CLIENT_AUTH_OID], false),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.BasicConstraintsExtension(false, undefined, true),
  ];
}

export async function createCsr(key: GeneratedKey, subject: ManagedIdentity["subject"]): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectName(subject),
    keys: key.keys,
    signingAlgorithm: SIGNING[key.algorithm],
    extensions: clientLeafExtensions(),
  });
  return csr.toString("pem");
}

/** A certificate for `key` signed by itself: presented by a pod whose cluster trusts nobody any more. */
export async function selfSign(key: GeneratedKey, subject: ManagedIdentity["subject"], validitySeconds: number): Promise<x509.X509Certificate> {
  const now = Date.now();
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("").replace(/^[89a-f]/, "7"),
    name: subjectName(subject),
    notBefore: new Date(now - 10 * 60_000),
    notAfter: new Date(now + validitySeconds * 1000),
    keys: key.keys,
    signingAlgorithm: SIGNING[key.algorithm],
    extensions: clientLeafExtensions(),
  });
}

/** Does `cert` carry exactly the subject the intent asks for? */
export function subjectMatches(cert: x509.X509Certificate, subject: ManagedIdentity["subject"]): boolean {
  const n = cert.subjectName;
  return (
    JSON.stringify(n.getField("CN")) === JSON.stringify([subject.commonName]) &&
    JSON.stringify(n.getField("OU")) === JSON.stringify([subject.organizationalUnit])
  );
}

export function keyAlgorithmOf(cert: x509.X509Certificate): KeyAlgorithm | undefined {
  const a = cert.publicKey.algorithm as { name: string; namedCurve?: string; modulusLength?: number };
  if (a.name === "ECDSA" && a.namedCurve === "P-256") return "ECDSA-P256";
  if (a.name.startsWith("RSA") && a.modulusLength === 2048) return "RSA-2048";
  return undefined;
}
