// A certificate with its private key, as stored in a kubernetes.io/tls-style Secret
// ({ "tls.crt", "tls.key" }, base64 like V1Secret.data).
import { x509 } from "../../common/x509.ts";
import { privateKeyFromPem, privateKeyToPem, publicSpkiOfPrivateKey } from "./keys.ts";
import { PkiMaterialError } from "../errors.ts";

export interface CertifiedKey {
  certificate: x509.X509Certificate;
  privateKey: CryptoKey;
}

type TlsSecretData = { "tls.crt": string; "tls.key": string };

export async function toTlsSecretData(pair: CertifiedKey): Promise<TlsSecretData> {
  return {
    "tls.crt": btoa(pair.certificate.toString("pem")),
    "tls.key": btoa(await privateKeyToPem(pair.privateKey)),
  };
}

/** Parses Secret data back into a certificate and key; throws a PkiMaterialError whose message names the key at fault. */
export async function fromTlsSecretData(data: Record<string, string> | undefined): Promise<CertifiedKey> {
  const crt = decodeEntry(data, "tls.crt");
  const key = decodeEntry(data, "tls.key");
  let blocks: ReturnType<typeof x509.PemConverter.decodeWithHeaders>;
  try {
    blocks = x509.PemConverter.decodeWithHeaders(crt);
  } catch (error) {
    throw new PkiMaterialError(`tls.crt: not PEM (${(error as Error).message})`, { cause: error });
  }
  if (blocks.length === 0 || blocks[0]?.type !== "CERTIFICATE") {
    throw new PkiMaterialError("tls.crt: does not start with a CERTIFICATE PEM block");
  }
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(blocks[0].rawData);
  } catch (error) {
    throw new PkiMaterialError(`tls.crt: certificate does not parse (${(error as Error).message})`, { cause: error });
  }
  let privateKey: CryptoKey;
  try {
    privateKey = await privateKeyFromPem(key);
  } catch (error) {
    throw new PkiMaterialError(`tls.key: ${(error as Error).message}`, { cause: error });
  }
  if (!(await keyMatchesCertificate(certificate, privateKey))) {
    throw new PkiMaterialError("tls.key does not match the public key of tls.crt");
  }
  return { certificate, privateKey };
}

async function keyMatchesCertificate(certificate: x509.X509Certificate, privateKey: CryptoKey): Promise<boolean> {
  try {
    return equalBytes(await publicSpkiOfPrivateKey(privateKey), certificate.publicKey.rawData);
  } catch {
    return false;
  }
}

/** True when `certificate` names `issuer` as its issuer and carries a valid signature by its key. */
export async function isIssuedBy(certificate: x509.X509Certificate, issuer: x509.X509Certificate): Promise<boolean> {
  if (!equalBytes(certificate.issuerName.toArrayBuffer(), issuer.subjectName.toArrayBuffer())) return false;
  try {
    return await certificate.verify({ publicKey: issuer.publicKey, signatureOnly: true });
  } catch {
    return false;
  }
}

function equalBytes(a: ArrayBuffer, b: ArrayBuffer): boolean {
  if (a.byteLength !== b.byteLength) return false;
  const x = new Uint8Array(a);
  const y = new Uint8Array(b);
  return x.every((byte, i) => byte === y[i]);
}

function decodeEntry(data: Record<string, string> | undefined, key: string): string {
  const value = data?.[key];
  if (value === undefined || value === "") throw new PkiMaterialError(`${key}: missing`);
  try {
    return atob(value);
  } catch {
    throw new PkiMaterialError(`${key}: not valid base64`);
  }
}
