// Client leaf certificates signed by a cluster's client CA: the controller's own identity
// (its key is generated here and kept in a Secret) and the leaves for agents' CSRs (the
// key stays in the pod; only the CSR's public key is certified).
import { x509 } from "../../common/x509.ts";
import { generateP256KeyPair } from "./keys.ts";
import type { CertifiedKey } from "./key-pair-certificate.ts";
import type { CertificateAuthority } from "./ca.ts";
import { issueLeaf, storedLeafDecision, type ReissueDecision } from "./issue-leaf.ts";

export { toTlsSecretData as clientCertToSecretData } from "./key-pair-certificate.ts";

/** ECK's CN for the operator's own client certificate; OU is the Elasticsearch name. */
const CONTROLLER_COMMON_NAME = "eck-internal";

interface ClientSubject {
  commonName: string;
  organizationalUnit: string;
}

export function controllerSubject(esName: string): ClientSubject {
  return { commonName: CONTROLLER_COMMON_NAME, organizationalUnit: esName };
}

interface LeafOptions {
  ca: CertificateAuthority;
  subject: ClientSubject;
  /** Default 1 year, as ECK's --cert-validity; never beyond the CA's own NotAfter. */
  validityMs?: number;
  now?: Date;
}

/** Issues the controller's client certificate for one cluster, with a fresh P-256 key. */
export async function issueControllerClientCertificate(
  options: Omit<LeafOptions, "subject"> & { esName: string },
): Promise<CertifiedKey> {
  const keys = await generateP256KeyPair();
  const certificate = await issueClientLeaf({ ...options, subject: controllerSubject(options.esName) }, keys.publicKey);
  return { certificate, privateKey: keys.privateKey };
}

/**
 * Certifies the public key of a CSR that already passed csr-policy.ts. The subject comes from
 * the intent, never from the CSR, and no CSR extension is copied.
 */
export function signClientCsr(options: LeafOptions & { csr: x509.Pkcs10CertificateRequest }): Promise<x509.X509Certificate> {
  return issueClientLeaf(options, options.csr.publicKey);
}

function issueClientLeaf(options: LeafOptions, publicKey: x509.PublicKeyType): Promise<x509.X509Certificate> {
  return issueLeaf({
    ...options,
    subject: [{ CN: [options.subject.commonName] }, { OU: [options.subject.organizationalUnit] }],
    publicKey,
    extendedKeyUsage: x509.ExtendedKeyUsage.clientAuth,
  });
}

interface ReissueCheck {
  ca: CertificateAuthority;
  subject: ClientSubject;
  now?: Date;
  rotateBeforeMs?: number;
}

/** Decides whether a stored client certificate (Secret data, base64) must be issued again. */
export function needsReissue(existing: Record<string, string> | undefined, check: ReissueCheck): Promise<ReissueDecision> {
  return storedLeafDecision(existing, { ...check, caName: "client CA" }, (certificate) => {
    const cn = certificate.subjectName.getField("CN");
    const ou = certificate.subjectName.getField("OU");
    if (cn.length !== 1 || cn[0] !== check.subject.commonName) {
      return `subject CN is ${JSON.stringify(cn)}, want "${check.subject.commonName}"`;
    }
    if (ou.length !== 1 || ou[0] !== check.subject.organizationalUnit) {
      return `subject OU is ${JSON.stringify(ou)}, want "${check.subject.organizationalUnit}"`;
    }
    return undefined;
  });
}
