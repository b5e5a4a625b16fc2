// common/der/signature.ts: WebCrypto's ECDSA r || s becomes the DER SEQUENCE X.509 wants, each
// INTEGER minimal and positive; the signed structure verifies with the key.
import { describe, expect, test } from "bun:test";
import { ecdsaSignatureFromDer, ecdsaSignatureToDer, signatureAlgorithm } from "../../../common/der/signature.ts";

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

describe("ECDSA signature from DER", () => {
  test("reads back what ecdsaSignatureToDer wrote, zeros and top bits included", () => {
    const raw = Uint8Array.from([...new Uint8Array(32).fill(0x81), ...new Uint8Array(30), 0x01, 0x02]);
    expect(ecdsaSignatureFromDer(ecdsaSignatureToDer(raw), 32)).toEqual(raw);
  });

  test("refuses a negative INTEGER, one too long for the curve, a third part and trailing bytes", () => {
    expect(ecdsaSignatureFromDer(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01]), 32)).toBeUndefined();
    const long = ecdsaSignatureToDer(new Uint8Array(66).fill(1));
    expect(ecdsaSignatureFromDer(long, 32)).toBeUndefined();
    expect(ecdsaSignatureFromDer(Uint8Array.from([0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]), 32)).toBeUndefined();
    expect(ecdsaSignatureFromDer(Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]), 32)).toBeUndefined();
  });
});
