// Checks an agent's PKCS#10 request against its pod's intent before anything is signed.
// Every refusal says what was wrong so the agent (and its operator) can act on it.
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";

/** A CSR is a few hundred bytes to ~2 KiB; anything far larger is not a CSR we sign. */
export const MAX_CSR_PEM_BYTES = 16 * 1024;
const MIN_RSA_BITS = 2048;
const MAX_RSA_BITS = 8192;
const OID_EXTENSION_REQUEST = "1.2.840.113549.1.9.14";
const OID_BASIC_CONSTRAINTS = "2.5.29.19";
const OID_EXT_KEY_USAGE = "2.5.29.37";
const OID_SUBJECT_ALT_NAME = "2.5.29.17";

type CsrPolicyResult = { ok: true; csr: x509.Pkcs10CertificateRequest } | { ok: false; reason: string };

export async function checkCsr(csrPem: string, identity: ManagedIdentity): Promise<CsrPolicyResult> {
  const refuse = (reason: string): CsrPolicyResult => ({ ok: false, reason });
  if (csrPem.length > MAX_CSR_PEM_BYTES) return refuse(`CSR is ${csrPem.length} bytes, more than ${MAX_CSR_PEM_BYTES}`);

  const blocks = x509.PemConverter.decodeWithHeaders(csrPem);
  if (blocks.length !== 1 || blocks[0]?.type !== "CERTIFICATE REQUEST") {
    return refuse(`CSR must be exactly one "CERTIFICATE REQUEST" PEM block, found ${blocks.length === 0 ? "none" : blocks.map((b) => `"${b.type}"`).join(", ")}`);
  }
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(blocks[0].rawData);
  } catch (error) {
    return refuse(`CSR does not parse as PKCS#10: ${(error as Error).message}`);
  }

  let signatureValid = false;
  try {
    signatureValid = await csr.verify();
  } catch {
    signatureValid = false;
  }
  if (!signatureValid) return refuse("CSR signature does not verify with the CSR's own public key");

  const subjectProblem = checkSubject(csr, identity.subject);
  if (subjectProblem) return refuse(subjectProblem);

  const keyProblem = checkKey(csr.publicKey.algorithm, identity.keyAlgorithm);
  if (keyProblem) return refuse(keyProblem);

  const extensionProblem = checkRequestedExtensions(csr);
  if (extensionProblem) return refuse(extensionProblem);

  return { ok: true, csr };
}

function checkSubject(csr: x509.Pkcs10CertificateRequest, want: ManagedIdentity["subject"]): string | undefined {
  const rdns = csr.subjectName.toJSON();
  const attributes = rdns.flatMap((rdn) => Object.entries(rdn).flatMap(([type, values]) => values.map((value) => ({ type, value }))));
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

function checkKey(algorithm: Algorithm, want: ManagedIdentity["keyAlgorithm"]): string | undefined {
  const ec = algorithm as EcKeyAlgorithm;
  const rsa = algorithm as RsaKeyAlgorithm;
  const have = algorithm.name === "ECDSA" || algorithm.name === "ECDH"
    ? `EC ${ec.namedCurve ?? "unknown curve"}`
    : rsa.modulusLength !== undefined ? `RSA-${rsa.modulusLength}` : algorithm.name;
  if (want === "ECDSA-P256") {
    if (algorithm.name !== "ECDSA" || ec.namedCurve !== "P-256") return `CSR key is ${have}, the intent requires ECDSA P-256`;
    return undefined;
  }
  if (rsa.modulusLength === undefined || !algorithm.name.startsWith("RSA")) return `CSR key is ${have}, the intent requires RSA (at least ${MIN_RSA_BITS} bits)`;
  if (rsa.modulusLength < MIN_RSA_BITS) return `CSR key is ${have}, weaker than the required RSA-${MIN_RSA_BITS}`;
  if (rsa.modulusLength > MAX_RSA_BITS) return `CSR key is ${have}, larger than the ${MAX_RSA_BITS} bits accepted`;
  return undefined;
}

function checkRequestedExtensions(csr: x509.Pkcs10CertificateRequest): string | undefined {
  // Extensions are never copied into the leaf, but a request for more than a client
  // certificate means the agent disagrees with its intent: refuse rather than quietly narrow.
  const requested = csr.getAttributes(OID_EXTENSION_REQUEST).length > 0 ? csr.extensions : [];
  for (const extension of requested) {
    if (extension.type === OID_BASIC_CONSTRAINTS) {
      const constraints = new x509.BasicConstraintsExtension(extension.rawData);
      if (constraints.ca) return "CSR requests BasicConstraints CA:TRUE; only end-entity client certificates are issued";
    } else if (extension.type === OID_EXT_KEY_USAGE) {
      const usages = new x509.ExtendedKeyUsageExtension(extension.rawData).usages.map(String);
      if (usages.length !== 1 || usages[0] !== x509.ExtendedKeyUsage.clientAuth) {
        return `CSR requests extended key usages ${usages.map(ekuName).join(", ") || "(empty)"}; only clientAuth is allowed`;
      }
    } else if (extension.type === OID_SUBJECT_ALT_NAME) {
      return "CSR requests subject alternative names; client certificates carry none";
    }
  }
  return undefined;
}

function ekuName(oid: string): string {
  const entry = Object.entries(x509.ExtendedKeyUsage).find(([, value]) => value === oid);
  return entry ? entry[0] : oid;
}
