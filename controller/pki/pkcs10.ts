// A DER walk of a PKCS#10 request (RFC 2986): the fields csr-policy.ts judges and the issuer
// certifies, read without an ASN.1 library (issue 21: @peculiar/x509's parse was most of an
// issuance). Returns data; what does not fit the structure is a reason, never an exception.
import { bytesOf, childrenOf, contentsOf, readTlv, type Tlv } from "../../common/der/decode.ts";
import { decodeOid } from "../../common/der/oid.ts";

/** The subject's attribute types by the short names @peculiar/x509 gives them (refusals name them alike). */
const ATTRIBUTE_NAMES: Record<string, string> = {
  "2.5.4.3": "CN", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C",
  "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "E", "2.5.4.42": "G", "2.5.4.43": "I", "2.5.4.4": "SN", "2.5.4.12": "T",
};
const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const EC_PUBLIC_KEY = "1.2.840.10045.2.1";
const RSA_ENCRYPTION = "1.2.840.113549.1.1.1";
const CURVES: Record<string, string> = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" };
/** Other key algorithms by WebCrypto's name (what refusals said before); unknown ones by OID. */
const OTHER_KEYS: Record<string, string> = { "1.3.101.112": "Ed25519", "1.3.101.113": "Ed448" };

export type CsrKey = { kind: "EC"; curve: string | undefined } | { kind: "RSA"; bits: number } | { kind: "other"; name: string };

interface CsrExtension {
  oid: string;
  critical: boolean;
  /** The extnValue OCTET STRING's contents. */
  value: Uint8Array;
}

export interface Pkcs10 {
  /** The certificationRequestInfo's DER: what the signature covers. */
  info: Uint8Array;
  /** Every subject attribute in order, RDNs flattened; the type by its short name, else dotted. */
  subject: { type: string; value: string }[];
  /** The SubjectPublicKeyInfo's DER, certified as it is. */
  spki: Uint8Array;
  key: CsrKey;
  signatureAlgorithm: { oid: string; parameters: Uint8Array | undefined };
  /** The signature BIT STRING's octets. */
  signature: Uint8Array;
  /** The first extensionRequest attribute's extensions (as @peculiar/x509 reads them); [] without one. */
  extensions: CsrExtension[];
}

type Walk = { ok: true; csr: Pkcs10 } | { ok: false; reason: string };

const SEQUENCE = 0x30;
const SET = 0x31;

/** Parses `der`; a reason says the first element that is not where PKCS#10 puts it. */
export function parsePkcs10(der: Uint8Array): Walk {
  const fail = (reason: string): Walk => ({ ok: false, reason });
  const outer = readTlv(der, 0);
  if (!outer || outer.tag !== SEQUENCE || outer.end !== der.length) return fail("not one DER SEQUENCE");
  const [infoTlv, algTlv, sigTlv, ...extra] = childrenOf(der, outer) ?? [];
  if (!infoTlv || !algTlv || !sigTlv || extra.length || infoTlv.tag !== SEQUENCE || algTlv.tag !== SEQUENCE || sigTlv.tag !== 0x03) {
    return fail("not a SEQUENCE of request info, signature algorithm and signature");
  }
  const [version, subjectTlv, spkiTlv, attributesTlv, ...more] = childrenOf(der, infoTlv) ?? [];
  if (!version || version.tag !== 0x02 || !subjectTlv || subjectTlv.tag !== SEQUENCE || !spkiTlv || spkiTlv.tag !== SEQUENCE || more.length) {
    return fail("request info is not version, subject, public key, attributes");
  }
  if (attributesTlv && attributesTlv.tag !== 0xa0) return fail("request info's attributes are not [0]");
  const subject = readName(der, subjectTlv);
  if (!subject) return fail("subject is not a Name");
  const key = readKey(der, spkiTlv);
  if (!key) return fail("subjectPublicKeyInfo is not an algorithm and a BIT STRING");
  const alg = algorithmOf(der, algTlv);
  if (!alg) return fail("signature algorithm is not an AlgorithmIdentifier");
  const signature = contentsOf(der, sigTlv);
  if (signature.length < 1 || signature[0] !== 0) return fail("signature BIT STRING has unused bits");
  const extensions = attributesTlv ? readExtensionRequest(der, attributesTlv) : [];
  if (!extensions) return fail("extensionRequest attribute is not a SET of Extensions");
  return {
    ok: true,
    csr: { info: bytesOf(der, infoTlv), subject, spki: bytesOf(der, spkiTlv), key, signatureAlgorithm: alg, signature: signature.subarray(1), extensions },
  };
}

function algorithmOf(der: Uint8Array, t: Tlv): { oid: string; parameters: Uint8Array | undefined } | undefined {
  const [id, parameters, ...more] = childrenOf(der, t) ?? [];
  if (!id || id.tag !== 0x06 || more.length) return undefined;
  const oid = decodeOid(contentsOf(der, id));
  return oid ? { oid, parameters: parameters && bytesOf(der, parameters) } : undefined;
}

function readName(der: Uint8Array, name: Tlv): Pkcs10["subject"] | undefined {
  const rdns = childrenOf(der, name);
  if (!rdns) return undefined;
  const out: Pkcs10["subject"] = [];
  for (const rdn of rdns) {
    const attributes = rdn.tag === SET ? childrenOf(der, rdn) : undefined;
    if (!attributes) return undefined;
    for (const attribute of attributes) {
      const [typeTlv, valueTlv, ...more] = (attribute.tag === SEQUENCE && childrenOf(der, attribute)) || [];
      const type = typeTlv?.tag === 0x06 ? decodeOid(contentsOf(der, typeTlv)) : undefined;
      if (!type || !valueTlv || more.length) return undefined;
      out.push({ type: ATTRIBUTE_NAMES[type] ?? type, value: stringOf(der, valueTlv) });
    }
  }
  return out;
}

const UTF8 = new TextDecoder("utf-8", { fatal: false });
const UTF16BE = new TextDecoder("utf-16be");

/** A directory string's text; any other type as `#` and its DER in hex, which matches no wanted value. */
function stringOf(der: Uint8Array, t: Tlv): string {
  const contents = contentsOf(der, t);
  switch (t.tag) {
    case 0x0c: // UTF8String
      return UTF8.decode(contents);
    case 0x13: // PrintableString
    case 0x16: // IA5String
    case 0x14: // TeletexString, read as Latin-1 as most decoders do
      // apply, not spread: spreading a typed array is several times slower on Bun (issue 21).
      return String.fromCharCode.apply(null, contents as unknown as number[]);
    case 0x1e: // BMPString: UTF-16BE
      return UTF16BE.decode(contents);
    default:
      return `#${Array.from(bytesOf(der, t), (b) => b.toString(16).padStart(2, "0")).join("")}`;
  }
}

function readKey(der: Uint8Array, spki: Tlv): CsrKey | undefined {
  const [algTlv, bits, ...more] = childrenOf(der, spki) ?? [];
  if (!algTlv || algTlv.tag !== SEQUENCE || !bits || bits.tag !== 0x03 || more.length) return undefined;
  const alg = algorithmOf(der, algTlv);
  if (!alg) return undefined;
  if (alg.oid === EC_PUBLIC_KEY) {
    const params = alg.parameters && readTlv(alg.parameters, 0);
    const curve = params?.tag === 0x06 ? decodeOid(contentsOf(alg.parameters!, params)) : undefined;
    return { kind: "EC", curve: curve && CURVES[curve] };
  }
  if (alg.oid === RSA_ENCRYPTION) {
    // RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER } inside the BIT STRING.
    const inner = contentsOf(der, bits).subarray(1);
    const rsa = readTlv(inner, 0);
    const modulus = rsa?.tag === SEQUENCE ? childrenOf(inner, rsa)?.[0] : undefined;
    if (!modulus || modulus.tag !== 0x02) return undefined;
    let digits = contentsOf(inner, modulus);
    while (digits.length > 0 && digits[0] === 0) digits = digits.subarray(1);
    return { kind: "RSA", bits: digits.length === 0 ? 0 : (digits.length - 1) * 8 + (32 - Math.clz32(digits[0]!)) };
  }
  return { kind: "other", name: OTHER_KEYS[alg.oid] ?? alg.oid };
}

function readExtensionRequest(der: Uint8Array, attributes: Tlv): CsrExtension[] | undefined {
  for (const attribute of childrenOf(der, attributes) ?? []) {
    const [typeTlv, values] = (attribute.tag === SEQUENCE && childrenOf(der, attribute)) || [];
    if (typeTlv?.tag !== 0x06 || decodeOid(contentsOf(der, typeTlv)) !== EXTENSION_REQUEST) continue;
    if (values?.tag !== SET) return undefined;
    const first = childrenOf(der, values)?.[0];
    if (!first) return [];
    if (first.tag !== SEQUENCE) return undefined;
    const out: CsrExtension[] = [];
    for (const extension of childrenOf(der, first) ?? []) {
      const parts = (extension.tag === SEQUENCE && childrenOf(der, extension)) || [];
      const oid = parts[0]?.tag === 0x06 ? decodeOid(contentsOf(der, parts[0])) : undefined;
      const critical = parts.length === 3 && parts[1]!.tag === 0x01 && contentsOf(der, parts[1]!)[0] !== 0;
      const value = parts[parts.length - 1];
      if (!oid || parts.length < 2 || parts.length > 3 || value?.tag !== 0x04) return undefined;
      out.push({ oid, critical, value: contentsOf(der, value) });
    }
    return out;
  }
  return [];
}
