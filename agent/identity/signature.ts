// Signing a DER structure with the pod's WebCrypto key into { tbs, algorithm, BIT STRING }, the
// outer shape of a PKCS#10 request and of a certificate alike.
import { bitString, nullValue, oid, sequence, unsignedInteger, type Der } from "../../common/der/encode.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";

type KeyAlgorithm = ManagedIdentity["keyAlgorithm"];

const SIGNING: Record<KeyAlgorithm, AlgorithmIdentifier | EcdsaParams> = {
  "ECDSA-P256": { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5" },
};

/** ecdsa-with-SHA256 has no parameters; sha256WithRSAEncryption's are NULL (RFC 5754 §3.2, RFC 4055 §5). */
export function signatureAlgorithm(algorithm: KeyAlgorithm): Der {
  return algorithm === "ECDSA-P256" ? sequence(oid("1.2.840.10045.4.3.2")) : sequence(oid("1.2.840.113549.1.1.11"), nullValue());
}

/** WebCrypto's ECDSA signature is r || s (IEEE P1363); X.509 wants SEQUENCE { INTEGER r, INTEGER s } (RFC 3279 §2.2.3). */
export function ecdsaSignatureToDer(raw: Uint8Array): Der {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

export async function signed(tbs: Der, privateKey: CryptoKey, algorithm: KeyAlgorithm): Promise<Der> {
  const raw = new Uint8Array(await crypto.subtle.sign(SIGNING[algorithm], privateKey, tbs));
  const value = algorithm === "ECDSA-P256" ? ecdsaSignatureToDer(raw) : raw;
  return sequence(tbs, signatureAlgorithm(algorithm), bitString(value));
}
