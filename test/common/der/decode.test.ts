// common/der/decode.ts: the walk reads what the encoder wrote and refuses what does not fit.
import { expect, test } from "bun:test";
import { childrenOf, readTlv } from "../../../common/der/decode.ts";
import { octetString, sequence, smallInteger } from "../../../common/der/encode.ts";

test("a SEQUENCE's children, long-form lengths included", () => {
  const der = sequence(smallInteger(5), octetString(new Uint8Array(300)));
  const outer = readTlv(der, 0)!;
  expect(outer).toEqual({ tag: 0x30, start: 0, contentStart: 4, end: der.length });
  const kids = childrenOf(der, outer)!;
  expect(kids.map((k) => [k.tag, k.end - k.contentStart])).toEqual([[0x02, 1], [0x04, 300]]);
});

test("a length past the end, a truncated header, children that do not tile: undefined", () => {
  const der = sequence(smallInteger(5));
  expect(readTlv(der.subarray(0, der.length - 1), 0)).toBeUndefined();
  expect(readTlv(Uint8Array.of(0x30), 0)).toBeUndefined();
  expect(readTlv(Uint8Array.of(0x30, 0x80), 0)).toBeUndefined(); // indefinite length: BER, not DER
  const bad = Uint8Array.of(0x30, 0x03, 0x02, 0x05, 0x00);
  expect(childrenOf(bad, readTlv(bad, 0)!)).toBeUndefined();
});
