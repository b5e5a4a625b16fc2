// X.509's signature shapes next to WebCrypto's, both ways: signing a DER structure into
// { tbs, algorithm, BIT STRING } (the outer shape of a PKCS#10 request and of a certificate alike:
// the agent's CSR and self-signed certificate), the algorithm identifiers (also the controller's
// client leaves'), and an ECDSA signature read back into r || s (the controller checks agents' CSRs).
import { bitString, nullValue, oid, sequence, unsignedInteger, type Der } from "./encode.ts";
import { childrenOf, contentsOf, readTlv } from "./decode.ts";

/** The key algorithms es-mtls signs with (the intent's `keyAlgorithm` words). */
type SigningKeyAlgorithm = "ECDSA-P256" | "RSA-2048";

const SIGNING: Record<SigningKeyAlgorithm, AlgorithmIdentifier | EcdsaParams> = {
  "ECDSA-P256": { name: "ECDSA", hash: "SHA-256" } as EcdsaParams,
  "RSA-2048": { name: "RSASSA-PKCS1-v1_5" },
};

/** ecdsa-with-SHA256 has no parameters; sha256WithRSAEncryption's are NULL (RFC 5754 §3.2, RFC 4055 §5). */
export function signatureAlgorithm(algorithm: SigningKeyAlgorithm): Der {
  return algorithm === "ECDSA-P256" ? sequence(oid("1.2.840.10045.4.3.2")) : sequence(oid("1.2.840.113549.1.1.11"), nullValue());
}

/** WebCrypto's ECDSA signature is r || s (IEEE P1363); X.509 wants SEQUENCE { INTEGER r, INTEGER s } (RFC 3279 §2.2.3). */
export function ecdsaSignatureToDer(raw: Uint8Array): Der {
  const half = raw.length / 2;
  return sequence(unsignedInteger(raw.subarray(0, half)), unsignedInteger(raw.subarray(half)));
}

/**
 * The reverse, for a curve of `octets`-octet scalars (32 for P-256): r || s, each left-padded.
 * Undefined when it is not two positive INTEGERs that fit, so the caller refuses the signature.
 */
export function ecdsaSignatureFromDer(der: Uint8Array, octets: number): Uint8Array<ArrayBuffer> | undefined {
  const outer = readTlv(der, 0);
  if (!outer || outer.tag !== 0x30 || outer.end !== der.length) return undefined;
  const parts = childrenOf(der, outer);
  if (!parts || parts.length !== 2) return undefined;
  const out = new Uint8Array(2 * octets);
  for (const [i, part] of parts.entries()) {
    if (part.tag !== 0x02) return undefined;
    let value = contentsOf(der, part);
    if (value.length === 0 || value[0]! & 0x80) return undefined;
    while (value.length > 1 && value[0] === 0) value = value.subarray(1);
    if (value.length > octets) return undefined;
    out.set(value, (i + 1) * octets - value.length);
  }
  return out;
}

export async function signed(tbs: Der, privateKey: CryptoKey, algorithm: SigningKeyAlgorithm): Promise<Der> {
  const raw = new Uint8Array(await crypto.subtle.sign(SIGNING[algorithm], privateKey, tbs));
  const value = algorithm === "ECDSA-P256" ? ecdsaSignatureToDer(raw) : raw;
  return sequence(tbs, signatureAlgorithm(algorithm), bitString(value));
}
