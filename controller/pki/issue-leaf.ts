// What every leaf the controller signs has in common: issued by a CA of ours, NotBefore
// back-dated, NotAfter never beyond the CA's, not a CA itself, AKI = the CA's SKI; and the
// checks every stored leaf shares before it is reused.
import { x509 } from "../../common/x509.ts";
import { ECDSA_SHA256 } from "./keys.ts";
import { DEFAULT_ROTATE_BEFORE_MS, DEFAULT_VALIDITY_MS, NOT_BEFORE_BACKDATE_MS, shouldRotate } from "./durations.ts";
import { fromTlsSecretData, isIssuedBy, type CertifiedKey } from "./key-pair-certificate.ts";
import type { CertificateAuthority } from "./ca.ts";
import { PkiMaterialError } from "../errors.ts";

interface IssueLeafOptions {
  ca: CertificateAuthority;
  subject: x509.JsonName;
  publicKey: x509.PublicKeyType;
  extendedKeyUsage: x509.ExtendedKeyUsage;
  extraExtensions?: x509.Extension[];
  validityMs?: number;
  now?: Date;
}

export async function issueLeaf(options: IssueLeafOptions): Promise<x509.X509Certificate> {
  const { ca } = options;
  const now = options.now ?? new Date();
  const notAfter = Math.min(now.getTime() + (options.validityMs ?? DEFAULT_VALIDITY_MS), ca.certificate.notAfter.getTime());
  const caKeyId = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  return x509.X509CertificateGenerator.create({
    subject: options.subject,
    issuer: ca.certificate.subjectName,
    publicKey: options.publicKey,
    signingKey: ca.privateKey,
    signingAlgorithm: ECDSA_SHA256,
    notBefore: new Date(now.getTime() - NOT_BEFORE_BACKDATE_MS),
    notAfter: new Date(notAfter),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([options.extendedKeyUsage], false),
      caKeyId ? new x509.AuthorityKeyIdentifierExtension(caKeyId) : await x509.AuthorityKeyIdentifierExtension.create(ca.certificate.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(options.publicKey),
      ...(options.extraExtensions ?? []),
    ],
  });
}

export type ReissueDecision = { reissue: false } | { reissue: true; reason: string };

/**
 * Parses a stored leaf (Secret data, base64) and applies the checks common to all leaves:
 * readable, key matches, signed by `ca`, outside the rotate-before window. `specific` adds
 * the checks of one kind of leaf (subject, SANs).
 */
export async function storedLeafDecision(
  existing: Record<string, string> | undefined,
  check: { ca: CertificateAuthority; caName: string; now?: Date; rotateBeforeMs?: number },
  specific: (certificate: x509.X509Certificate) => string | undefined,
): Promise<ReissueDecision> {
  let stored: CertifiedKey;
  try {
    stored = await fromTlsSecretData(existing);
  } catch (error) {
    if (!(error instanceof PkiMaterialError)) throw error;
    return { reissue: true, reason: error.message };
  }
  const { certificate } = stored;
  const problem = specific(certificate);
  if (problem) return { reissue: true, reason: problem };
  if (!(await isIssuedBy(certificate, check.ca.certificate))) return { reissue: true, reason: `not signed by the current ${check.caName}` };
  // A leaf that already lasts as long as its CA cannot be improved by that CA: reissuing it would
  // give the same end date again, on every reconcile. The CA's own rotation renews it.
  const cappedByCa = certificate.notAfter.getTime() >= check.ca.certificate.notAfter.getTime();
  if (!cappedByCa && shouldRotate(check.now ?? new Date(), certificate.notAfter, check.rotateBeforeMs ?? DEFAULT_ROTATE_BEFORE_MS)) {
    return { reissue: true, reason: `expires ${certificate.notAfter.toISOString()}, inside the rotate-before window` };
  }
  return { reissue: false };
}
