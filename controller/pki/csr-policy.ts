// Checks an agent's PKCS#10 request against its pod's intent before anything is signed.
// Every refusal says what was wrong so the agent (and its operator) can act on it. The request is
// read with a DER walk (pkcs10.ts) and its signature checked with node:crypto (issue 21: the ASN.1
// library was most of an issuance's cost); the PEM framing stays @peculiar/x509's, so which inputs
// count as one block is what it was.
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";
import { childrenOf, contentsOf, readTlv } from "../../common/der/decode.ts";
import { decodeOid } from "../../common/der/oid.ts";
import { parsePkcs10, type CsrKey, type Pkcs10 } from "./pkcs10.ts";
import { csrSignatureVerifies } from "./csr-signature.ts";

/** A CSR is a few hundred bytes to ~2 KiB; anything far larger is not a CSR we sign. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_EXT_KEY_USAGE = "2.5.29.37";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";
const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";

const EXTENDED_KEY_USAGE_NAMES: Record<string, string> = {
  "1.3.6.1.5.5.7.3.1": "serverAuth", "1.3.6.1.5.5.7.3.2": "clientAuth", "1.3.6.1.5.5.7.3.3": "codeSigning",
  "1.3.6.1.5.5.7.3.4": "emailProtection", "1.3.6.1.5.5.7.3.8": "timeStamping", "1.3.6.1.5.5.7.3.9": "ocspSigning",
};

type CsrPolicyResult = { ok: true; csr: Pkcs10 } | { ok: false; reason: string };

export async function checkCsr(csrPem: string, identity: ManagedIdentity): Promise<CsrPolicyResult> {
  const refuse = (reason: string): CsrPolicyResult => ({ ok: false, reason });
  if (csrPem.length > MAX_CSR_PEM_BYTES) return refuse(`CSR is ${csrPem.length} bytes, more than ${MAX_CSR_PEM_BYTES}`);

  const blocks = x509.PemConverter.decodeWithHeaders(csrPem);
  if (blocks.length !== 1 || blocks[0]?.type !== "CERTIFICATE REQUEST") {
    return refuse(`CSR must be exactly one "CERTIFICATE REQUEST" PEM block, found ${blocks.length === 0 ? "none" : blocks.map((b) => `"${b.type}"`).join(", ")}`);
  }
  const parsed = parsePkcs10(new Uint8Array(blocks[0].rawData));
  if (!parsed.ok) return refuse(`CSR does not parse as PKCS#10: ${parsed.reason}`);
  const { csr } = parsed;

  if (!csrSignatureVerifies(csr)) return refuse("CSR signature does not verify with the CSR's own public key");

  const subjectProblem = checkSubject(csr, identity.subject);
  if (subjectProblem) return refuse(subjectProblem);

  const keyProblem = checkKey(csr.key, identity.keyAlgorithm);
  if (keyProblem) return refuse(keyProblem);

  const extensionProblem = checkRequestedExtensions(csr);
  if (extensionProblem) return refuse(extensionProblem);

  return { ok: true, csr };
}

function checkSubject(csr: Pkcs10, want: ManagedIdentity["subject"]): string | undefined {
  const attributes = csr.subject;
  const wanted = `CN=${want.commonName}, OU=${want.organizationalUnit}`;
  const cn = attributes.filter((a) => a.type === "CN");
  const ou = attributes.filter((a) => a.type === "OU");
  const others = attributes.filter((a) => a.type !== "CN" && a.type !== "OU");
  if (cn.length !== 1 || cn[0]?.value !== want.commonName) {
    return `CSR subject CN is ${JSON.stringify(cn.map((a) => a.value))}, want exactly "${want.commonName}" (subject "${wanted}")`;
  }
  if (ou.length !== 1 || ou[0]?.value !== want.organizationalUnit) {
    return `CSR subject OU is ${JSON.stringify(ou.map((a) => a.value))}, want exactly "${want.organizationalUnit}" (subject "${wanted}")`;
  }
  if (others.length > 0) {
    return `CSR subject has attributes other than CN and OU: ${others.map((a) => a.type).join(", ")} (want "${wanted}")`;
  }
  return undefined;
}

function checkKey(key: CsrKey, want: ManagedIdentity["keyAlgorithm"]): string | undefined {
  const have = key.kind === "EC" ? `EC ${key.curve ?? "unknown curve"}` : key.kind === "RSA" ? `RSA-${key.bits}` : key.name;
  if (want === "ECDSA-P256") {
    if (key.kind !== "EC" || key.curve !== "P-256") return `CSR key is ${have}, the intent requires ECDSA P-256`;
    return undefined;
  }
  if (key.kind !== "RSA") return `CSR key is ${have}, the intent requires RSA (at least ${MIN_RSA_BITS} bits)`;
  if (key.bits < MIN_RSA_BITS) return `CSR key is ${have}, weaker than the required RSA-${MIN_RSA_BITS}`;
  if (key.bits > MAX_RSA_BITS) return `CSR key is ${have}, larger than the ${MAX_RSA_BITS} bits accepted`;
  return undefined;
}

function checkRequestedExtensions(csr: Pkcs10): string | undefined {
  // Extensions are never copied into the leaf, but a request for more than a client
  // certificate means the agent disagrees with its intent: refuse rather than quietly narrow.
  for (const extension of csr.extensions) {
    if (extension.oid === OID_BASIC_CONSTRAINTS) {
      const ca = basicConstraintsCa(extension.value);
      if (ca === undefined) return "CSR requests a BasicConstraints extension that does not parse";
      if (ca) return "CSR requests BasicConstraints CA:TRUE; only end-entity client certificates are issued";
    } else if (extension.oid === OID_EXT_KEY_USAGE) {
      const usages = extendedKeyUsages(extension.value);
      if (!usages) return "CSR requests an extended key usage extension that does not parse";
      if (usages.length !== 1 || usages[0] !== CLIENT_AUTH) {
        return `CSR requests extended key usages ${usages.map((oid) => EXTENDED_KEY_USAGE_NAMES[oid] ?? oid).join(", ") || "(empty)"}; only clientAuth is allowed`;
      }
    } else if (extension.oid === OID_SUBJECT_ALT_NAME) {
      return "CSR requests subject alternative names; client certificates carry none";
    }
  }
  return undefined;
}

/** BasicConstraints ::= SEQUENCE { cA BOOLEAN DEFAULT FALSE, pathLenConstraint INTEGER OPTIONAL }. */
function basicConstraintsCa(value: Uint8Array): boolean | undefined {
  const outer = readTlv(value, 0);
  const parts = outer?.tag === 0x30 && outer.end === value.length ? childrenOf(value, outer) : undefined;
  if (!parts) return undefined;
  return parts[0]?.tag === 0x01 && contentsOf(value, parts[0])[0] !== 0;
}

/** ExtKeyUsageSyntax ::= SEQUENCE OF KeyPurposeId (an OID). */
function extendedKeyUsages(value: Uint8Array): string[] | undefined {
  const outer = readTlv(value, 0);
  const parts = outer?.tag === 0x30 && outer.end === value.length ? childrenOf(value, outer) : undefined;
  const oids = parts?.map((p) => (p.tag === 0x06 ? decodeOid(contentsOf(value, p)) : undefined));
  return oids?.every((o) => o !== undefined) ? (oids as string[]) : undefined;
}
