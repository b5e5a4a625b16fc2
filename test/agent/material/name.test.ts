// agent/material/name.ts: a Name's text, as the agent's messages have always shown it.
import { expect, test } from "bun:test";
import { formatName, readName } from "../../../agent/material/name.ts";
import { readTlv } from "../../../common/der/decode.ts";
import { oid, sequence, set, tlv } from "../../../common/der/encode.ts";

const atv = (type: string, value: Uint8Array) => set(sequence(oid(type), value));
const utf8 = (s: string) => tlv(0x0c, new TextEncoder().encode(s));

test("RFC 4514's specials escaped, multi-valued RDNs joined with +, unknown types by OID, non-strings as #hex", () => {
  const name = sequence(
    atv("2.5.4.3", utf8("#a, \"b\"; <c> ")),
    set(sequence(oid("2.5.4.11"), utf8("x")), sequence(oid("2.5.4.10"), utf8("y"))),
    atv("1.2.3.4", utf8("z")),
    atv("2.5.4.6", tlv(0x02, Uint8Array.of(1))),
  );
  const rdns = readName(name, readTlv(name, 0)!)!;
  expect(formatName(rdns)).toBe('CN=\\#a\\, \\"b\\"\\; \\<c\\>\\ , OU=x+O=y, 1.2.3.4=z, C=#020101');
});

test("what is not a Name is undefined", () => {
  const notName = set(utf8("x"));
  expect(readName(notName, readTlv(notName, 0)!)).toBeUndefined();
  const badAttr = sequence(set(sequence(utf8("no oid"), utf8("x"))));
  expect(readName(badAttr, readTlv(badAttr, 0)!)).toBeUndefined();
});
