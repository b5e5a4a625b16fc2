// Proof of possession: a CSR's signature checked against the CSR's own public key, for the
// signature algorithms @peculiar/x509 verified before issue 21 (ECDSA and RSASSA-PKCS1-v1_5 with
// SHA-1 or SHA-2, Ed25519), so a CSR with another key still reaches the key check and is refused
// for its key. Any other algorithm, or a key the algorithm cannot use, does not verify.
// node:crypto's synchronous verify (on Bun and Deno alike), not WebCrypto: the async importKey and
// verify cost more CPU than the verification itself (issue 21's profile).
import { createPublicKey, verify } from "node:crypto";
import { ecdsaSignatureFromDer } from "../../common/der/signature.ts";
import type { Pkcs10 } from "./pkcs10.ts";

const ECDSA: Record<string, string> = {
  "1.2.840.10045.4.1": "sha1", "1.2.840.10045.4.3.2": "sha256", "1.2.840.10045.4.3.3": "sha384", "1.2.840.10045.4.3.4": "sha512",
};
const RSA_PKCS1: Record<string, string> = {
  "1.2.840.113549.1.1.5": "sha1", "1.2.840.113549.1.1.11": "sha256", "1.2.840.113549.1.1.12": "sha384", "1.2.840.113549.1.1.13": "sha512",
};
const ED25519 = "1.3.101.112";
const SCALAR_OCTETS: Record<string, number> = { "P-256": 32, "P-384": 48, "P-521": 66 };

/** True only when the signature verifies; malformed signatures and unusable keys are false, never thrown. */
export function csrSignatureVerifies(csr: Pkcs10): boolean {
  const oid = csr.signatureAlgorithm.oid;
  const key = () => createPublicKey({ key: Buffer.from(csr.spki.buffer, csr.spki.byteOffset, csr.spki.byteLength), format: "der", type: "spki" });
  try {
    if (csr.key.kind === "EC" && csr.key.curve && ECDSA[oid]) {
      // Read into r || s first, as WebCrypto took it: the same DER signatures are accepted as before.
      const raw = ecdsaSignatureFromDer(csr.signature, SCALAR_OCTETS[csr.key.curve]!);
      if (!raw) return false;
      const publicKey = key();
      if (publicKey.asymmetricKeyType !== "ec") return false;
      return verify(ECDSA[oid], csr.info, { key: publicKey, dsaEncoding: "ieee-p1363" }, raw);
    }
    if (csr.key.kind === "RSA" && RSA_PKCS1[oid]) {
      const publicKey = key();
      if (publicKey.asymmetricKeyType !== "rsa") return false;
      return verify(RSA_PKCS1[oid], csr.info, publicKey, csr.signature);
    }
    if (csr.key.kind === "other" && csr.key.name === "Ed25519" && oid === ED25519) {
      const publicKey = key();
      if (publicKey.asymmetricKeyType !== "ed25519") return false;
      return verify(null, csr.info, publicKey, csr.signature);
    }
  } catch {
    return false; // a key that will not import is no proof of possession
  }
  return false;
}
