// controller/pki/csr-signature.ts: a CSR's signature verifies with its own key for each algorithm
// @peculiar/x509 verified, and a forged or mismatched one does not, without throwing.
import { describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { csrSignatureVerifies } from "../../../controller/pki/csr-signature.ts";
import { parsePkcs10, type Pkcs10 } from "../../../controller/pki/pkcs10.ts";
import { makeCsr, p256, rsa } from "../../support/pki-fixtures.ts";

async function walk(keys: CryptoKeyPair): Promise<Pkcs10> {
  const w = parsePkcs10(new Uint8Array(x509.PemConverter.decodeFirst((await makeCsr({ keys })).pem)));
  if (!w.ok) throw new Error(w.reason);
  return w.csr;
}

describe("CSR signature", () => {
  test("P-256, P-384 (SHA-384) and RSA-2048 requests verify", async () => {
    expect(await csrSignatureVerifies(await walk(await p256()))).toBe(true);
    expect(await csrSignatureVerifies(await walk(await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])))).toBe(true);
    expect(await csrSignatureVerifies(await walk(await rsa(2048)))).toBe(true);
  });

  test("another key's request info, a flipped signature bit, another algorithm's key: no", async () => {
    const a = await walk(await p256());
    const b = await walk(await p256());
    expect(await csrSignatureVerifies({ ...a, info: b.info })).toBe(false);
    expect(await csrSignatureVerifies({ ...a, spki: b.spki })).toBe(false);
    const flipped = Uint8Array.from(a.signature);
    flipped[flipped.length - 1]! ^= 1;
    expect(await csrSignatureVerifies({ ...a, signature: flipped })).toBe(false);
    const r = await walk(await rsa(2048));
    expect(await csrSignatureVerifies({ ...r, signatureAlgorithm: a.signatureAlgorithm })).toBe(false);
    expect(await csrSignatureVerifies({ ...a, signature: Uint8Array.of(0x30, 0x00) })).toBe(false);
  });
});
