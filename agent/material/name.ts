// A certificate's Name (RFC 5280 §4.1.2.4) read from its DER: the attributes, and the text the
// agent's messages show ("CN=a, OU=b", in encoded order, as @peculiar/x509 wrote it). Read here
// because the runtimes' X509Certificate word it differently (Bun escapes a comma, Deno does not).
import { childrenOf, contentsOf, type Tlv } from "../../common/der/decode.ts";
import { decodeOid } from "../../common/der/oid.ts";

export interface NameAttribute {
  /** The attribute type's OID, dotted. */
  type: string;
  /** Its value as text; "#" and the hex of the DER for a value that is not a string. */
  value: string;
  /** False for such a value: it is shown as is, never escaped. */
  text: boolean;
}

const SHORT: Record<string, string> = {
  "2.5.4.3": "CN",
  "2.5.4.7": "L",
  "2.5.4.8": "ST",
  "2.5.4.10": "O",
  "2.5.4.11": "OU",
  "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC",
  "1.2.840.113549.1.9.1": "E",
  "2.5.4.42": "G",
  "2.5.4.43": "I",
  "2.5.4.4": "SN",
  "2.5.4.12": "T",
};

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");

function stringValue(tag: number, bytes: Uint8Array): string | undefined {
  switch (tag) {
    case 0x0c: // UTF8String
      return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    case 0x12: // NumericString
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x1a: // VisibleString
    case 0x14: // TeletexString, read as Latin-1 as OpenSSL does
      return String.fromCharCode(...bytes);
    case 0x1e: // BMPString: UTF-16BE
      return new TextDecoder("utf-16be").decode(bytes);
    default:
      return undefined;
  }
}

/** The RDNs of the Name at `name`, each a list of attributes; undefined when it is not a Name. */
export function readName(der: Uint8Array, name: Tlv): NameAttribute[][] | undefined {
  if (name.tag !== 0x30) return undefined;
  const rdns = childrenOf(der, name);
  if (!rdns) return undefined;
  const out: NameAttribute[][] = [];
  for (const rdn of rdns) {
    const atvs = rdn.tag === 0x31 ? childrenOf(der, rdn) : undefined;
    if (!atvs) return undefined;
    const attrs: NameAttribute[] = [];
    for (const atv of atvs) {
      const [type, value] = (atv.tag === 0x30 && childrenOf(der, atv)) || [];
      const oid = type?.tag === 0x06 ? decodeOid(contentsOf(der, type)) : undefined;
      if (!oid || !value) return undefined;
      let text: string | undefined;
      try {
        text = stringValue(value.tag, contentsOf(der, value));
      } catch {
        text = undefined; // not UTF-8: shown as its DER
      }
      attrs.push(text === undefined ? { type: oid, value: `#${hex(der.subarray(value.start, value.end))}`, text: false } : { type: oid, value: text, text: true });
    }
    out.push(attrs);
  }
  return out;
}

// RFC 4514's specials, as @peculiar/x509 escaped them.
const escape = (a: NameAttribute) =>
  !a.text
    ? a.value
    : a.value
        .replace(/([,+"\\<>;])/g, "\\$1")
        .replace(/^([ #])/, "\\$1")
        .replace(/ $/, "\\ ")
        .replace(/[\r\n\t]/g, (c) => `\\${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);

export function formatName(rdns: NameAttribute[][]): string {
  return rdns.map((rdn) => rdn.map((a) => `${SHORT[a.type] ?? a.type}=${escape(a)}`).join("+")).join(", ");
}
