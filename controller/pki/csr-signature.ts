// Proof of possession: a CSR's signature checked with WebCrypto against the CSR's own public key,
// for the signature algorithms @peculiar/x509 verified before issue 21 (ECDSA and RSASSA-PKCS1-v1_5
// with SHA-1 or SHA-2, Ed25519), so a CSR with another key still reaches the key check and is
// refused for its key. Any other algorithm, or a key the algorithm cannot use, does not verify.
import { ecdsaSignatureFromDer } from "../../common/der/signature.ts";
import type { Pkcs10 } from "./pkcs10.ts";

const ECDSA: Record<string, string> = {
  "1.2.840.10045.4.1": "SHA-1", "1.2.840.10045.4.3.2": "SHA-256", "1.2.840.10045.4.3.3": "SHA-384", "1.2.840.10045.4.3.4": "SHA-512",
};
const RSA_PKCS1: Record<string, string> = {
  "1.2.840.113549.1.1.5": "SHA-1", "1.2.840.113549.1.1.11": "SHA-256", "1.2.840.113549.1.1.12": "SHA-384", "1.2.840.113549.1.1.13": "SHA-512",
};
const ED25519 = "1.3.101.112";
const SCALAR_OCTETS: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** True only when the signature verifies; malformed signatures and unusable keys are false, never thrown. */
export async function csrSignatureVerifies(csr: Pkcs10): Promise<boolean> {
  const oid = csr.signatureAlgorithm.oid;
  try {
    if (csr.key.kind === "EC" && csr.key.curve && ECDSA[oid]) {
      const raw = ecdsaSignatureFromDer(csr.signature, SCALAR_OCTETS[csr.key.curve]!);
      if (!raw) return false;
      const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, { name: "ECDSA", namedCurve: csr.key.curve }, false, ["verify"]);
      return await crypto.subtle.verify({ name: "ECDSA", hash: ECDSA[oid] }, key, raw, csr.info as BufferSource);
    }
    if (csr.key.kind === "RSA" && RSA_PKCS1[oid]) {
      const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, { name: "RSASSA-PKCS1-v1_5", hash: RSA_PKCS1[oid] }, false, ["verify"]);
      return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, csr.signature as BufferSource, csr.info as BufferSource);
    }
    if (csr.key.kind === "other" && csr.key.name === "Ed25519" && oid === ED25519) {
      const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, { name: "Ed25519" }, false, ["verify"]);
      return await crypto.subtle.verify("Ed25519", key, csr.signature as BufferSource, csr.info as BufferSource);
    }
  } catch {
    return false; // a key WebCrypto will not import is no proof of possession
  }
  return false;
}
