// A DER walk: enough to read the fields of a certificate the runtime's X509Certificate does not
// give alike on Bun and Deno (the subject's attributes, extended key usage). Returns undefined on
// malformed input; the caller words the error.

export interface Tlv {
  tag: number;
  /** Where the element starts (its tag), its contents start, and where it ends. */
  start: number;
  contentStart: number;
  end: number;
}

/** The element at `at` in `der`, which must end by `limit`; definite lengths only (DER). */
export function readTlv(der: Uint8Array, at: number, limit = der.length): Tlv | undefined {
  if (at + 2 > limit) return undefined;
  const tag = der[at]!;
  if ((tag & 0x1f) === 0x1f) return undefined; // high tag numbers: none in what we read
  let length = der[at + 1]!;
  let contentStart = at + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 4 || contentStart + octets > limit) return undefined;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + der[contentStart + i]!;
    contentStart += octets;
  }
  const end = contentStart + length;
  return end > limit ? undefined : { tag, start: at, contentStart, end };
}

/** The elements inside a constructed one, in order; undefined if they do not tile its contents. */
export function childrenOf(der: Uint8Array, parent: Tlv): Tlv[] | undefined {
  const out: Tlv[] = [];
  for (let at = parent.contentStart; at < parent.end; ) {
    const t = readTlv(der, at, parent.end);
    if (!t) return undefined;
    out.push(t);
    at = t.end;
  }
  return out;
}

export const contentsOf = (der: Uint8Array, t: Tlv): Uint8Array => der.subarray(t.contentStart, t.end);
export const bytesOf = (der: Uint8Array, t: Tlv): Uint8Array => der.subarray(t.start, t.end);
