// controller/pki/csr-signature.ts: a CSR's signature verifies with its own key for each algorithm
// @peculiar/x509 verified, and a forged or mismatched one does not, without throwing.
import { describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { csrSignatureVerifies } from "../../../controller/pki/csr-signature.ts";
import { ecdsaSignatureFromDer } from "../../../common/der/signature.ts";
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

// Issue 21 moved the check from WebCrypto to node:crypto's synchronous verify: the verdicts must not
// change. WebCrypto's, as csr-signature.ts computed them before, for each request and its forgeries.
async function webCryptoVerdict(csr: Pkcs10): Promise<boolean> {
  const hashOf: Record<string, [string, string]> = {
    "1.2.840.10045.4.1": ["ECDSA", "SHA-1"], "1.2.840.10045.4.3.2": ["ECDSA", "SHA-256"], "1.2.840.10045.4.3.3": ["ECDSA", "SHA-384"],
    "1.2.840.113549.1.1.5": ["RSASSA-PKCS1-v1_5", "SHA-1"], "1.2.840.113549.1.1.11": ["RSASSA-PKCS1-v1_5", "SHA-256"],
  };
  const [name, hash] = hashOf[csr.signatureAlgorithm.oid] ?? [];
  try {
    if (name === "ECDSA" && csr.key.kind === "EC" && csr.key.curve) {
      const octets = csr.key.curve === "P-256" ? 32 : 48;
      const raw = ecdsaSignatureFromDer(csr.signature, octets);
      if (!raw) return false;
      const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, { name, namedCurve: csr.key.curve }, false, ["verify"]);
      return await crypto.subtle.verify({ name, hash: hash! }, key, raw, csr.info as BufferSource);
    }
    if (name === "RSASSA-PKCS1-v1_5" && csr.key.kind === "RSA") {
      const key = await crypto.subtle.importKey("spki", csr.spki as BufferSource, { name, hash: hash! }, false, ["verify"]);
      return await crypto.subtle.verify(name, key, csr.signature as BufferSource, csr.info as BufferSource);
    }
  } catch {
    return false;
  }
  return false;
}

test("the same verdict as WebCrypto for valid requests (P-256, P-384, RSA-1024/2048/3072, SHA-1 RSA) and their forgeries", async () => {
  const sha1Rsa = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: Uint8Array.of(1, 0, 1), hash: "SHA-1" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const sha1 = await x509.Pkcs10CertificateRequestGenerator.create({ name: "CN=kb", keys: sha1Rsa, signingAlgorithm: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-1" } });
  const sha1Walk = parsePkcs10(new Uint8Array(sha1.rawData));
  if (!sha1Walk.ok) throw new Error(sha1Walk.reason);
  expect(sha1Walk.csr.signatureAlgorithm.oid).toBe("1.2.840.113549.1.1.5");
  const valid = [
    await walk(await p256()),
    await walk(await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])),
    await walk(await rsa(1024)),
    await walk(await rsa(2048)),
    await walk(await rsa(3072)),
    sha1Walk.csr,
  ];
  const cases: Pkcs10[] = [];
  for (const [i, csr] of valid.entries()) {
    const other = valid[(i + 1) % valid.length]!;
    const flipped = Uint8Array.from(csr.signature);
    flipped[flipped.length >> 1]! ^= 0x01;
    // DER signature oddities: a long-form length where short form fits, a trailing octet.
    const longForm = Uint8Array.of(0x30, 0x81, csr.signature[1]!, ...csr.signature.subarray(2));
    cases.push(
      csr,
      { ...csr, signature: flipped },
      { ...csr, signature: Uint8Array.of(...csr.signature, 0) },
      { ...csr, signature: longForm },
      { ...csr, signature: new Uint8Array(0) },
      { ...csr, info: other.info },
      { ...csr, spki: other.spki },
      { ...csr, signatureAlgorithm: other.signatureAlgorithm },
      { ...csr, spki: csr.spki.subarray(0, csr.spki.length - 1) },
    );
  }
  const mine = cases.map((c) => csrSignatureVerifies(c));
  const theirs = await Promise.all(cases.map(webCryptoVerdict));
  expect(mine).toEqual(theirs);
  // Each valid request verifies; a flipped bit, a truncated or empty signature, other request info do not.
  for (let i = 0; i < cases.length; i += 9) expect([mine[i], mine[i + 1], mine[i + 2], mine[i + 4], mine[i + 5]]).toEqual([true, false, false, false, false]);
});
