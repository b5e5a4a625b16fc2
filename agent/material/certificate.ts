// The agent's view of a certificate. The runtime's X509Certificate (node:crypto, on Bun and Deno)
// parses it, refuses a malformed one and gives the validity and the public key; a DER walk reads
// what the runtimes do not give alike (the subject's attributes and text, extended key usage).
// No ASN.1 library: the agent's memory is paid in every pod (issue 21).
import { X509Certificate, type KeyObject } from "node:crypto";
import { bytesOf, childrenOf, contentsOf, readTlv, type Tlv } from "../../common/der/decode.ts";
import { decodeOid } from "../../common/der/oid.ts";
import { formatName, readName, type NameAttribute } from "./name.ts";

export interface Certificate {
  der: Uint8Array;
  /** "CN=a, OU=b": for messages and logs. */
  subject: string;
  subjectAttributes: NameAttribute[];
  /** Issuer and subject are the same Name (byte for byte). */
  selfIssued: boolean;
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
  /** The extended key usage OIDs; undefined without the extension (any usage). */
  extendedKeyUsage?: string[];
  /** Read when asked: a bundle's certificates never need theirs. */
  publicKey(): KeyObject;
}

const EXT_KEY_USAGE = "2.5.29.37";

// Node ≥ 22.10 has the Date forms; Bun 1.4 and Deno 2.9 too, the installed @types/node not yet.
type WithDates = X509Certificate & { validFromDate?: Date; validToDate?: Date };

/** Throws (the runtime's parse error, or one naming the field) when `der` is not one certificate. */
export function readCertificate(der: Uint8Array): Certificate {
  const x = new X509Certificate(der) as WithDates;
  const fail = (what: string): never => {
    throw new Error(`its ${what} cannot be read`);
  };
  const cert = readTlv(der, 0);
  const tbs = cert && cert.tag === 0x30 ? childrenOf(der, cert)?.[0] : undefined;
  const fields = tbs && tbs.tag === 0x30 ? childrenOf(der, tbs) : undefined;
  if (!fields) return fail("structure");
  // version [0] is optional (v1); then serial, signature, issuer, validity, subject, spki.
  const at = fields[0]?.tag === 0xa0 ? 1 : 0;
  const issuer = fields[at + 2];
  const subject = fields[at + 4];
  const subjectRdns = subject && readName(der, subject);
  if (!issuer || !subject || !subjectRdns) return fail("subject");
  const extensions = fields.slice(at + 6).find((f) => f.tag === 0xa3);
  return {
    der,
    subject: formatName(subjectRdns),
    subjectAttributes: subjectRdns.flat(),
    selfIssued: equalBytes(bytesOf(der, issuer), bytesOf(der, subject)),
    serialNumber: x.serialNumber.toLowerCase(),
    notBefore: x.validFromDate ?? new Date(x.validFrom),
    notAfter: x.validToDate ?? new Date(x.validTo),
    extendedKeyUsage: extensions && extendedKeyUsage(der, extensions),
    publicKey: () => x.publicKey,
  };
}

/** The EKU OIDs in the [3] Extensions; undefined when the extension is absent. */
function extendedKeyUsage(der: Uint8Array, wrapper: Tlv): string[] | undefined {
  const malformed = () => new Error("its extensions cannot be read");
  const list = childrenOf(der, wrapper)?.[0];
  const exts = list && childrenOf(der, list);
  if (!exts) throw malformed();
  for (const ext of exts) {
    const parts = childrenOf(der, ext);
    const id = parts?.[0];
    if (!parts || id?.tag !== 0x06 || decodeOid(contentsOf(der, id)) !== EXT_KEY_USAGE) continue;
    const value = parts[parts.length - 1]!;
    const seq = value.tag === 0x04 ? readTlv(der, value.contentStart, value.end) : undefined;
    const oids = seq && seq.tag === 0x30 ? childrenOf(der, seq) : undefined;
    const dotted = oids?.map((o) => (o.tag === 0x06 ? decodeOid(contentsOf(der, o)) : undefined));
    if (!dotted || dotted.some((o) => o === undefined)) throw malformed();
    return dotted as string[];
  }
  return undefined;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
