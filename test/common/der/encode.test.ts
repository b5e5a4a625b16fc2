// common/der/encode.ts: lengths, integers, strings and times encode as DER requires.
import { describe, expect, test } from "bun:test";
import { bitString, directoryString, sequence, time, tlv, unsignedInteger } from "../../../common/der/encode.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

describe("DER encoding", () => {
  test("lengths: short form to 127, then the fewest octets", () => {
    expect(hex(tlv(0x04, new Uint8Array(127))).slice(0, 4)).toBe("047f");
    expect(hex(tlv(0x04, new Uint8Array(128))).slice(0, 6)).toBe("048180");
    expect(hex(tlv(0x04, new Uint8Array(256))).slice(0, 8)).toBe("04820100");
    expect(hex(tlv(0x04, new Uint8Array(65_536))).slice(0, 10)).toBe("0483010000");
    expect(hex(sequence())).toBe("3000");
  });

  test("unsigned integers: minimal, positive", () => {
    expect(hex(unsignedInteger(Uint8Array.of(0, 0, 0x7f)))).toBe("02017f");
    expect(hex(unsignedInteger(Uint8Array.of(0x80)))).toBe("02020080");
    expect(hex(unsignedInteger(Uint8Array.of(0, 0)))).toBe("020100");
  });

  test("a BIT STRING carries its unused bits", () => {
    expect(hex(bitString(Uint8Array.of(0x80), 7))).toBe("03020780");
  });

  test("directory strings: PrintableString when it can be, else UTF8String", () => {
    expect(hex(directoryString("a, b+c"))).toBe("1306" + hex(new TextEncoder().encode("a, b+c")));
    expect(hex(directoryString("a_b")).slice(0, 4)).toBe("0c03");
    expect(hex(directoryString("é")).slice(0, 4)).toBe("0c02");
  });

  test("times: UTCTime through 2049, GeneralizedTime from 2050, whole seconds", () => {
    const ascii = (b: Uint8Array) => new TextDecoder().decode(b.subarray(2));
    expect(ascii(time(new Date("2049-12-31T23:59:59.999Z")))).toBe("491231235959Z");
    expect(time(new Date("2049-12-31T23:59:59Z"))[0]).toBe(0x17);
    const g = time(new Date("2050-01-01T00:00:00Z"));
    expect(g[0]).toBe(0x18);
    expect(ascii(g)).toBe("20500101000000Z");
  });
});
