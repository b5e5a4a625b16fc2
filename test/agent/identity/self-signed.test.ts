// agent/identity/self-signed.ts: the self-signed certificate the agent makes with its own DER
// encoder is read by @peculiar/x509, by the runtime's X509Certificate and by OpenSSL, its signature
// verifies with its own key, and it says what the one made with @peculiar/x509 said (issue 21):
// everything but the random serial is byte for byte the library's, for both key algorithms.
import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { CLIENT_AUTH_OID } from "../../../agent/identity/client-leaf.ts";
import { generateKey, type GeneratedKey } from "../../../agent/identity/key.ts";
import { selfSign } from "../../../agent/identity/self-signed.ts";
import { bytesOf, childrenOf, contentsOf, readTlv } from "../../../common/der/decode.ts";
import { encodePem } from "../../../common/pem.ts";
import { openssl } from "../../support/openssl.ts";

x509.cryptoProvider.set(globalThis.crypto);

const SIGNING = { "ECDSA-P256": { name: "ECDSA", hash: "SHA-256" }, "RSA-2048": { name: "RSASSA-PKCS1-v1_5" } } as const;
const SUBJECT = { commonName: "kb-0, with comma", organizationalUnit: "ünit" };

/** The certificate as the agent made it before issue 21, at the same instant. */
function libraryCertificate(key: GeneratedKey, validitySeconds: number, now: number): Promise<x509.X509Certificate> {
  return x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: [{ CN: [SUBJECT.commonName] }, { OU: [SUBJECT.organizationalUnit] }],
    notBefore: new Date(now - 10 * 60_000),
    notAfter: new Date(now + validitySeconds * 1000),
    keys: key.keys,
    signingAlgorithm: SIGNING[key.algorithm],
    extensions: [
      new x509.ExtendedKeyUsageExtension([CLIENT_AUTH_OID], false),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.BasicConstraintsExtension(false, undefined, true),
    ],
  });
}

/** The TBSCertificate's fields: version, serial, signature, issuer, validity, subject, key, extensions. */
function tbsOf(der: Uint8Array) {
  return childrenOf(der, childrenOf(der, readTlv(der, 0)!)![0]!)!;
}

/** The TBSCertificate's fields, each as hex (their DER). */
function tbsFields(cert: x509.X509Certificate): string[] {
  const der = new Uint8Array(cert.rawData);
  return tbsOf(der).map((f) => Buffer.from(bytesOf(der, f)).toString("hex"));
}

describe.each(["ECDSA-P256", "RSA-2048"] as const)("%s self-signed certificate", (alg) => {
  test("read and verified by @peculiar/x509 and the runtime; all but the serial equal the library's", async () => {
    const key = await generateKey(alg);
    // Whole seconds: both encoders write whole seconds and the two instants must agree.
    const now = Math.floor(Date.now() / 1000) * 1000;
    const der = await selfSign(key, SUBJECT, 86_400, now);
    const cert = new x509.X509Certificate(der);
    expect(await cert.verify({ signatureOnly: true })).toBe(true);
    expect(new X509Certificate(der).verify(new X509Certificate(der).publicKey)).toBe(true);
    expect(cert.subject).toBe("CN=kb-0\\, with comma, OU=ünit");
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.notBefore.getTime()).toBe(now - 10 * 60_000);
    expect(cert.notAfter.getTime()).toBe(now + 86_400_000);
    expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([CLIENT_AUTH_OID]);
    expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(false);
    // The INTEGER as encoded: @peculiar/x509's serialNumber drops a sign octet (00 9a … reads as
    // 9a …), which made this check fail 1 time in 512.
    const serial = contentsOf(der, tbsOf(der)[1]!);
    expect(serial.length).toBeLessThanOrEqual(16);
    expect(serial[0]! & 0x80).toBe(0);

    const old = await libraryCertificate(key, 86_400, now);
    const [mine, theirs] = [tbsFields(cert), tbsFields(old)];
    // version, signature algorithm, issuer, validity, subject, public key, extensions
    expect(mine.filter((_, i) => i !== 1)).toEqual(theirs.filter((_, i) => i !== 1));
    expect(cert.signatureAlgorithm).toEqual(old.signatureAlgorithm);
  });

  test("a validity ending in 2050 or later is a GeneralizedTime (RFC 5280), read back to the second", async () => {
    const now = Date.UTC(2049, 11, 31, 12, 0, 0);
    const cert = new x509.X509Certificate(await selfSign(await generateKey(alg), SUBJECT, 86_400, now));
    expect(cert.notAfter.toISOString()).toBe("2050-01-01T12:00:00.000Z");
    expect(cert.notBefore.toISOString()).toBe("2049-12-31T11:50:00.000Z");
  });

  test("OpenSSL reads it: version 3, the subject as issuer, the extensions, the signature algorithm", async () => {
    const pem = encodePem(await selfSign(await generateKey(alg), SUBJECT, 3600), "CERTIFICATE");
    const { code, out } = openssl(["x509", "-noout", "-text", "-nameopt", "RFC2253,-esc_msb"], pem);
    expect(code).toBe(0);
    expect(out).toContain("Version: 3 (0x2)");
    expect(out).toContain("Subject: OU=ünit,CN=kb-0\\, with comma");
    expect(out).toContain("Issuer: OU=ünit,CN=kb-0\\, with comma");
    expect(out).toMatch(/X509v3 Extended Key Usage: \n\s+TLS Web Client Authentication\n/);
    expect(out).toMatch(/X509v3 Key Usage: critical\n\s+Digital Signature\n/);
    expect(out).toMatch(/X509v3 Basic Constraints: critical\n\s+CA:FALSE\n/);
    expect(out).toContain(alg === "ECDSA-P256" ? "Signature Algorithm: ecdsa-with-SHA256" : "Signature Algorithm: sha256WithRSAEncryption");
    // Trusted as itself, with -check_ss_sig: OpenSSL checks its signature against its own key.
    const file = join(mkdtempSync(join(tmpdir(), "self-signed-")), "c.pem");
    writeFileSync(file, pem + "\n");
    expect(openssl(["verify", "-check_ss_sig", "-partial_chain", "-trusted", file, file], "")).toMatchObject({ code: 0, out: `${file}: OK\n` });
  });
});
