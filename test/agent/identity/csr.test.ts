// agent/identity/csr.ts (with client-leaf.ts and signature.ts): the PKCS#10 request the agent
// makes with its own DER encoder is read and verified by @peculiar/x509 and by OpenSSL, and says
// byte for byte what the request made with @peculiar/x509 said (issue 21), for both key algorithms.
import { describe, expect, test } from "bun:test";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { CLIENT_AUTH_OID } from "../../../agent/identity/client-leaf.ts";
import { createCsr } from "../../../agent/identity/csr.ts";
import { generateKey, type GeneratedKey } from "../../../agent/identity/key.ts";
import { bytesOf, childrenOf, readTlv } from "../../../common/der/decode.ts";
import { openssl } from "../../support/openssl.ts";

x509.cryptoProvider.set(globalThis.crypto);

const SIGNING = { "ECDSA-P256": { name: "ECDSA", hash: "SHA-256" }, "RSA-2048": { name: "RSASSA-PKCS1-v1_5" } } as const;

/** The request as the agent made it before issue 21. */
async function libraryCsr(key: GeneratedKey, subject: { commonName: string; organizationalUnit: string }): Promise<x509.Pkcs10CertificateRequest> {
  return x509.Pkcs10CertificateRequestGenerator.create({
    name: [{ CN: [subject.commonName] }, { OU: [subject.organizationalUnit] }],
    keys: key.keys,
    signingAlgorithm: SIGNING[key.algorithm],
    extensions: [
      new x509.ExtendedKeyUsageExtension([CLIENT_AUTH_OID], false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
}

/** The certificationRequestInfo, as hex: the whole request but its signature. */
function info(buffer: ArrayBuffer): string {
  const der = new Uint8Array(buffer);
  return Buffer.from(bytesOf(der, childrenOf(der, readTlv(der, 0)!)![0]!)).toString("hex");
}

// A printable subject, one with PrintableString's specials, and one that must be a UTF8String.
const SUBJECTS = [
  { commonName: "es-0", organizationalUnit: "quickstart" },
  { commonName: "kb, with comma + plus", organizationalUnit: "qs" },
  { commonName: "élastic_0", organizationalUnit: "ünit" },
];

describe.each(["ECDSA-P256", "RSA-2048"] as const)("%s CSR", (alg) => {
  test.each(SUBJECTS)("$commonName: @peculiar/x509 parses and verifies it; its request info equals the library's", async (subject) => {
    const key = await generateKey(alg);
    const pem = await createCsr(key, subject);
    expect(pem).toStartWith("-----BEGIN CERTIFICATE REQUEST-----\n");
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subjectName.getField("CN")).toEqual([subject.commonName]);
    expect(csr.subjectName.getField("OU")).toEqual([subject.organizationalUnit]);
    const ext = <T>(type: new (...a: never[]) => T) => csr.extensions.find((e) => e instanceof type) as T | undefined;
    expect(ext(x509.ExtendedKeyUsageExtension)?.usages).toEqual([CLIENT_AUTH_OID]);
    expect(ext(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(ext(x509.BasicConstraintsExtension)?.ca).toBe(false);
    const old = await libraryCsr(key, subject);
    expect(csr.signatureAlgorithm).toEqual(old.signatureAlgorithm);
    expect(info(csr.rawData)).toBe(info(old.rawData));
  });

  test("OpenSSL verifies its signature and reads the subject and the extensions", async () => {
    const pem = await createCsr(await generateKey(alg), SUBJECTS[1]!);
    const verified = openssl(["req", "-verify", "-noout"], pem);
    expect(verified).toMatchObject({ code: 0 });
    expect(verified.out).toContain("verify OK");
    const text = openssl(["req", "-noout", "-text"], pem).out;
    expect(text).toContain("Subject: CN = \"kb, with comma + plus\", OU = qs");
    expect(text).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    expect(text).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(text).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(text).toContain(alg === "ECDSA-P256" ? "ecdsa-with-SHA256" : "sha256WithRSAEncryption");
  });
});
