// The controller's own serving PKI: a CA that agents and the kube-apiserver (webhooks)
// trust, and the serving certificate of the intent API and webhook endpoints.
import { x509 } from "../../common/x509.ts";
import { generateP256KeyPair } from "./keys.ts";
import { createCertificateAuthority, type CertificateAuthority, type CreateCaOptions } from "./ca.ts";
import type { CertifiedKey } from "./key-pair-certificate.ts";
import { issueLeaf, storedLeafDecision, type ReissueDecision } from "./issue-leaf.ts";
import { PkiRequestError } from "../errors.ts";

export { toTlsSecretData as servingToSecretData } from "./key-pair-certificate.ts";

export function createServingCa(options: Omit<CreateCaOptions, "commonName"> & { commonName?: string } = {}) {
  return createCertificateAuthority({ ...options, commonName: options.commonName ?? "es-mtls-controller-serving-ca" });
}

/** DNS names a client may use for the controller's Service, plus localhost for in-pod probes. */
export function serviceDnsNames(serviceName: string, namespace: string, clusterDomain = "cluster.local"): string[] {
  return [
    serviceName,
    `${serviceName}.${namespace}`,
    `${serviceName}.${namespace}.svc`,
    `${serviceName}.${namespace}.svc.${clusterDomain}`,
    "localhost",
  ];
}

interface ServingNames {
  dnsNames: string[];
  /** Default ["127.0.0.1"]. */
  ipAddresses?: string[];
}

interface IssueServingOptions extends ServingNames {
  ca: CertificateAuthority;
  validityMs?: number;
  now?: Date;
}

export async function issueServingCertificate(options: IssueServingOptions): Promise<CertifiedKey> {
  const { dnsNames } = options;
  if (dnsNames.length === 0) throw new PkiRequestError("a serving certificate needs at least one DNS name");
  const keys = await generateP256KeyPair();
  const certificate = await issueLeaf({
    ...options,
    subject: [{ CN: [dnsNames[0]!] }],
    publicKey: keys.publicKey,
    extendedKeyUsage: x509.ExtendedKeyUsage.serverAuth,
    extraExtensions: [new x509.SubjectAlternativeNameExtension(sanEntries(options), false)],
  });
  return { certificate, privateKey: keys.privateKey };
}

interface ServingReissueCheck extends ServingNames {
  ca: CertificateAuthority;
  now?: Date;
  rotateBeforeMs?: number;
}

/** Decides whether the stored serving certificate (Secret data, base64) must be issued again. */
export function servingNeedsReissue(existing: Record<string, string> | undefined, check: ServingReissueCheck): Promise<ReissueDecision> {
  return storedLeafDecision(existing, { ...check, caName: "serving CA" }, (certificate) => {
    const want = sanKeys(sanEntries(check));
    const san = certificate.getExtension(x509.SubjectAlternativeNameExtension);
    const have = sanKeys(san ? san.names.toJSON() : []);
    if (want.join("\n") !== have.join("\n")) return `subject alternative names are [${have.join(", ")}], want [${want.join(", ")}]`;
    return undefined;
  });
}

function sanEntries(names: ServingNames): x509.JsonGeneralName[] {
  return [
    ...names.dnsNames.map((value) => ({ type: "dns" as const, value })),
    ...(names.ipAddresses ?? ["127.0.0.1"]).map((value) => ({ type: "ip" as const, value })),
  ];
}

function sanKeys(entries: x509.JsonGeneralName[]): string[] {
  return entries.map((e) => `${e.type}:${e.value}`).sort();
}
