// Shared test material: keys, CSRs and certificates made with @peculiar/x509.
import { x509 } from "../../common/x509.ts";
import { TestCA, selfSignedClient } from "./test-ca.ts";

export const HOUR = 60 * 60 * 1000;
export const DAY = 24 * HOUR;

export function p256(): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
}

export function rsa(bits: number): Promise<CryptoKeyPair> {
  return crypto.subtle.generateKey(
    { name: "RSASSA-PKCS1-v1_5", modulusLength: bits, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
    true,
    ["sign", "verify"],
  );
}

export async function makeCsr(options: {
  subject?: string | x509.JsonName;
  keys?: CryptoKeyPair;
  extensions?: x509.Extension[];
}): Promise<{ pem: string; keys: CryptoKeyPair }> {
  const keys = options.keys ?? (await p256());
  const algorithm = keys.privateKey.algorithm.name === "ECDSA"
    ? { name: "ECDSA", hash: (keys.privateKey.algorithm as EcKeyAlgorithm).namedCurve === "P-384" ? "SHA-384" : "SHA-256" }
    : { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" };
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: options.subject ?? "CN=kb, OU=kb",
    keys,
    signingAlgorithm: algorithm,
    extensions: options.extensions ?? [],
  });
  return { pem: csr.toString("pem"), keys };
}

/** A self-signed leaf like ECK's pinned client certificates (or a self-signed CA): from the one test CA factory. */
export async function selfSignedLeaf(options: { cn: string; notBefore?: Date; notAfter?: Date; ca?: boolean }): Promise<x509.X509Certificate> {
  const validity = { notBefore: options.notBefore ?? new Date(Date.now() - HOUR), notAfter: options.notAfter ?? new Date(Date.now() + 365 * DAY) };
  if (options.ca) return (await TestCA.create(options.cn, validity)).cert;
  return (await selfSignedClient({ cn: options.cn, ...validity })).certificate;
}

export function pemOf(certificate: x509.X509Certificate): string {
  return certificate.toString("pem") + "\n";
}
