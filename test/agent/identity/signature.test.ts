// agent/identity/signature.ts: WebCrypto's ECDSA r || s becomes the DER SEQUENCE X.509 wants, each
// INTEGER minimal and positive; the signed structure verifies with the key.
import { describe, expect, test } from "bun:test";
import { ecdsaSignatureToDer, signatureAlgorithm } from "../../../agent/identity/signature.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("ECDSA signature to DER", () => {
  test("an r with its top bit set gets a 0x00 octet; an s with leading zeros loses them", () => {
    const r = new Uint8Array(32).fill(0x81);
    const s = new Uint8Array(32);
    s[30] = 0x01;
    s[31] = 0x02;
    expect(hex(ecdsaSignatureToDer(Uint8Array.from([...r, ...s])))).toBe(`3027` + `022100${"81".repeat(32)}` + `02020102`);
  });

  test("a zero s is one 0x00 octet", () => {
    expect(hex(ecdsaSignatureToDer(new Uint8Array(64).fill(1, 0, 32)))).toBe(`3025` + `0220${"01".repeat(32)}` + `020100`);
  });
});

describe("signature algorithm identifiers", () => {
  test("ecdsa-with-SHA256 without parameters, sha256WithRSAEncryption with NULL", () => {
    expect(hex(signatureAlgorithm("ECDSA-P256"))).toBe("300a06082a8648ce3d040302");
    expect(hex(signatureAlgorithm("RSA-2048"))).toBe("300d06092a864886f70d01010b0500");
  });
});
