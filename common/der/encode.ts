// DER (X.690) encoding of the few types a PKCS#10 request and an X.509 certificate use, on
// Uint8Array alone: the agent builds its CSR and its self-signed certificate with these and
// WebCrypto, so it never loads an ASN.1 library (its memory is paid in every pod, issue 21).
import { encodeOid } from "./oid.ts";

export type Der = Uint8Array<ArrayBuffer>;

const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

/** Definite length, short form below 128, else the fewest big-endian octets (DER): the header's size. */
function headerSize(length: number): number {
  if (length < 0x80) return 2;
  let octets = 0;
  for (let v = length; v > 0; v = Math.floor(v / 256)) octets++;
  return 2 + octets;
}

/**
 * One element: tag, length, and the contents concatenated, written into one new array (the
 * controller encodes a leaf per issuance with these: no intermediate copies, no spread arrays).
 */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Der {
  let length = 0;
  for (const c of contents) length += c.length;
  const header = headerSize(length);
  const out = new Uint8Array(header + length);
  out[0] = tag;
  if (header === 2) out[1] = length;
  else {
    out[1] = 0x80 | (header - 2);
    for (let i = header - 1, v = length; i >= 2; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  }
  let at = header;
  for (const c of contents) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export const sequence = (...items: readonly Uint8Array[]): Der => tlv(TAG.SEQUENCE, ...items);

/** A SET OF with one element, or elements already in DER order (the callers' sets are single-valued). */
export const set = (...items: readonly Uint8Array[]): Der => tlv(TAG.SET, ...items);

/** [n] EXPLICIT: the context-specific constructed tag around one element. */
export const explicit = (n: number, ...items: readonly Uint8Array[]): Der => tlv(0xa0 + n, ...items);

export const oid = (dotted: string): Der => tlv(TAG.OID, encodeOid(dotted));
export const nullValue = (): Der => tlv(TAG.NULL);
export const boolean = (value: boolean): Der => tlv(TAG.BOOLEAN, Uint8Array.of(value ? 0xff : 0x00));
export const octetString = (bytes: Uint8Array): Der => tlv(TAG.OCTET_STRING, bytes);

/** A BIT STRING of whole octets, or with `unusedBits` trailing bits of the last octet unused. */
export const bitString = (bytes: Uint8Array, unusedBits = 0): Der => tlv(TAG.BIT_STRING, Uint8Array.of(unusedBits), bytes);

const ZERO = Uint8Array.of(0);

/**
 * A non-negative INTEGER from its big-endian magnitude: leading zero octets dropped, one 0x00 put
 * back when the top bit is set (two's complement), as DER's minimal encoding requires. ECDSA's r
 * and s and random serial numbers both need it.
 */
export function unsignedInteger(magnitude: Uint8Array): Der {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const digits = magnitude.subarray(start);
  if ((digits[0] ?? 0) & 0x80) return tlv(TAG.INTEGER, ZERO, digits);
  return tlv(TAG.INTEGER, digits.length ? digits : ZERO);
}

export const smallInteger = (n: number): Der => unsignedInteger(Uint8Array.of(n));

const utf8 = new TextEncoder();

// X.520's PrintableString alphabet: what @peculiar/x509 (the controller's library) writes as
// PrintableString; anything else is a UTF8String, so the agent's names encode as they always did.
const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

/** A DirectoryString: PrintableString when the text allows it, else UTF8String. */
export function directoryString(text: string): Der {
  const bytes = utf8.encode(text);
  return tlv(PRINTABLE.test(text) ? TAG.PRINTABLE_STRING : TAG.UTF8_STRING, bytes);
}

const two = (n: number) => String(n).padStart(2, "0");

/** RFC 5280 §4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050; whole seconds, Z. */
export function time(date: Date): Der {
  const y = date.getUTCFullYear();
  const rest = two(date.getUTCMonth() + 1) + two(date.getUTCDate()) + two(date.getUTCHours()) + two(date.getUTCMinutes()) + two(date.getUTCSeconds()) + "Z";
  const ascii = (s: string) => utf8.encode(s);
  return y < 2050 ? tlv(TAG.UTC_TIME, ascii(two(y % 100) + rest)) : tlv(TAG.GENERALIZED_TIME, ascii(String(y).padStart(4, "0") + rest));
}
