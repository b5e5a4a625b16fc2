// common/der/oid.ts: object identifiers both ways.
import { expect, test } from "bun:test";
import { decodeOid, encodeOid } from "../../../common/der/oid.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

test("known encodings, and back", () => {
  for (const [dotted, der] of [
    ["1.2.840.113549.1.9.14", "2a864886f70d01090e"],
    ["2.5.29.37", "551d25"],
    ["1.3.6.1.5.5.7.3.2", "2b06010505070302"],
    ["2.999.3", "883703"],
  ] as const) {
    expect(hex(encodeOid(dotted))).toBe(der);
    expect(decodeOid(Buffer.from(der, "hex"))).toBe(dotted);
  }
});

test("malformed contents are undefined: a truncated arc, a non-minimal arc, nothing", () => {
  expect(decodeOid(Uint8Array.of(0x2a, 0x86))).toBeUndefined();
  expect(decodeOid(Uint8Array.of(0x2a, 0x80, 0x01))).toBeUndefined();
  expect(decodeOid(new Uint8Array(0))).toBeUndefined();
  expect(() => encodeOid("1")).toThrow(/not an object identifier/);
});
