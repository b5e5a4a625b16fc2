// Key pairs the controller itself generates (CA keys, its own client key, serving keys):
// ECDSA P-256, exported as PKCS#8 because some Java clients accept nothing else.
import { x509 } from "../../common/x509.ts";
import { PkiMaterialError } from "../errors.ts";

const ECDSA_P256: EcKeyGenParams = { name: "ECDSA", namedCurve: "P-256" };
export const ECDSA_SHA256: EcdsaParams = { name: "ECDSA", hash: "SHA-256" };

export async function generateP256KeyPair(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"]);
}

export async function privateKeyToPem(key: CryptoKey): Promise<string> {
  const pkcs8 = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(pkcs8, "PRIVATE KEY");
}

/** Imports a PKCS#8 ECDSA P-256 private key; throws a PkiMaterialError with a reason on anything else. */
export async function privateKeyFromPem(pem: string): Promise<CryptoKey> {
  const blocks = x509.PemConverter.decodeWithHeaders(pem);
  if (blocks.length !== 1 || blocks[0]?.type !== "PRIVATE KEY") {
    throw new PkiMaterialError(`expected exactly one "PRIVATE KEY" (PKCS#8) PEM block, found ${describeBlocks(blocks)}`);
  }
  try {
    return await crypto.subtle.importKey("pkcs8", blocks[0].rawData, ECDSA_P256, true, ["sign"]);
  } catch {
    throw new PkiMaterialError("PKCS#8 key is not an ECDSA P-256 private key");
  }
}

/** SPKI bytes of the public half of an exportable EC private key (the JWK carries x and y). */
export async function publicSpkiOfPrivateKey(key: CryptoKey): Promise<ArrayBuffer> {
  const { kty, crv, x, y } = await crypto.subtle.exportKey("jwk", key);
  const publicKey = await crypto.subtle.importKey("jwk", { kty, crv, x, y }, ECDSA_P256, true, ["verify"]);
  return crypto.subtle.exportKey("spki", publicKey);
}

function describeBlocks(blocks: { type: string }[]): string {
  return blocks.length === 0 ? "none" : blocks.map((b) => `"${b.type}"`).join(", ");
}
