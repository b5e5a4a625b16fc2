// controller/pki/client-leaf-template.ts: the leaf the intent API issues for an agent's CSR says
// what leaf.ts's signClientCsr (@peculiar/x509, the issuer before issue 21) said, byte for byte but
// the serial and the signature, for P-256 and RSA-2048 CSR keys; @peculiar/x509 and OpenSSL read
// and verify it.
import { describe, expect, test } from "bun:test";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { x509 } from "../../../common/x509.ts";
import { bytesOf, childrenOf, contentsOf, readTlv } from "../../../common/der/decode.ts";
import { createClientCa } from "../../../controller/pki/ca.ts";
import { issueClientLeafFromTemplate } from "../../../controller/pki/client-leaf-template.ts";
import { checkCsr } from "../../../controller/pki/csr-policy.ts";
import { signClientCsr } from "../../../controller/pki/leaf.ts";
import type { ManagedIdentity } from "../../../protocol/intent.ts";
import { DAY, makeCsr, p256, rsa } from "../../support/pki-fixtures.ts";
import { openssl } from "../../support/openssl.ts";

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");

/** The TBSCertificate's elements as hex, in order: version, serial, signature, issuer, validity, subject, key, extensions. */
function tbsParts(certificate: x509.X509Certificate): string[] {
  const der = new Uint8Array(certificate.rawData);
  const tbs = childrenOf(der, readTlv(der, 0)!)![0]!;
  return childrenOf(der, tbs)!.map((t) => hex(bytesOf(der, t)));
}

/** Each extension's DER as hex, in order. */
function extensionsOf(certificate: x509.X509Certificate): string[] {
  return certificate.extensions.map((e) => hex(new Uint8Array(e.rawData)));
}

/**
 * At most 16 random octets as a positive, minimal INTEGER: a 0x00 octet only before a set top bit.
 * Random octets may begin with zeros, which minimal DER drops, so a shorter serial is fine: 00 9a …
 * (1 time in 512) is 16 octets with its sign octet, not 17.
 */
function serialFormatOk(certificate: x509.X509Certificate): boolean {
  const der = new Uint8Array(certificate.rawData);
  const tbs = childrenOf(der, readTlv(der, 0)!)![0]!;
  const serial = contentsOf(der, childrenOf(der, tbs)![1]!);
  if (serial[0]! & 0x80) return false;
  const signOctet = serial[0] === 0 && serial.length > 1;
  if (signOctet && (serial[1]! & 0x80) === 0) return false;
  return serial.length - (signOctet ? 1 : 0) <= 16;
}

const SUBJECTS = [
  { commonName: "quickstart-es-default-0", organizationalUnit: "quickstart" },
  { commonName: "élastic, + kb", organizationalUnit: "ünit" },
];

describe.each([
  ["ECDSA-P256", p256],
  ["RSA-2048", () => rsa(2048)],
] as const)("%s CSR", (keyAlgorithm, keys) => {
  test.each(SUBJECTS)("$commonName: the same certificate as signClientCsr's but serial and signature; read and verified by @peculiar/x509 and OpenSSL", async (subject) => {
    const now = new Date(Date.now() - 1234); // milliseconds that both must drop alike
    const ca = await createClientCa("quickstart", { now: new Date(now.getTime() - DAY) });
    const identity: ManagedIdentity = { source: "managed", subject, keyAlgorithm, validitySeconds: 7 * 86_400, renewAtFraction: 0.66 };
    const { pem } = await makeCsr({ keys: await keys(), subject: "CN=anything, OU=else" });
    const policy = await checkCsr(pem, { ...identity, subject: { commonName: "anything", organizationalUnit: "else" } });
    if (!policy.ok) throw new Error(policy.reason);

    const issued = await issueClientLeafFromTemplate({ ca, spki: policy.csr.spki, subject, validityMs: 7 * DAY, now });
    const leaf = new x509.X509Certificate(issued.certificatePem);
    const old = await signClientCsr({ ca, csr: new x509.Pkcs10CertificateRequest(pem), subject, validityMs: 7 * DAY, now });

    const [mine, theirs] = [tbsParts(leaf), tbsParts(old)];
    expect(mine.length).toBe(8);
    expect(mine.filter((_, i) => i !== 1)).toEqual(theirs.filter((_, i) => i !== 1));
    expect(extensionsOf(leaf)).toEqual(extensionsOf(old));
    expect(leaf.signatureAlgorithm).toEqual(old.signatureAlgorithm);
    expect(serialFormatOk(leaf)).toBe(true);
    expect(serialFormatOk(old)).toBe(true);
    expect(leaf.serialNumber).not.toBe(old.serialNumber);
    // What the intent API sends next to it, as it sent it before.
    expect(issued.certificatePem).toBe(leaf.toString("pem") + "\n");
    expect(issued.chainPem).toBe(ca.certificate.toString("pem") + "\n");
    expect(issued.notBefore.toISOString()).toBe(old.notBefore.toISOString());
    expect(issued.notAfter.toISOString()).toBe(old.notAfter.toISOString());
    expect(leaf.subjectName.getField("CN")).toEqual([subject.commonName]);
    expect(await leaf.verify({ publicKey: ca.certificate.publicKey, signatureOnly: true })).toBe(true);

    const dir = mkdtempSync(join(tmpdir(), "leaf-template-"));
    writeFileSync(join(dir, "ca.pem"), issued.chainPem);
    writeFileSync(join(dir, "leaf.pem"), issued.certificatePem);
    const text = openssl(["x509", "-noout", "-text"], issued.certificatePem);
    expect(text.code).toBe(0);
    expect(text.out).toContain("TLS Web Client Authentication");
    expect(text.out).toContain("CA:FALSE");
    expect(text.out).toContain("Digital Signature");
    expect(openssl(["verify", "-purpose", "sslclient", "-CAfile", join(dir, "ca.pem"), join(dir, "leaf.pem")], "")).toEqual({ code: 0, out: `${join(dir, "leaf.pem")}: OK\n` });
  });
});

test("NotAfter is capped at the CA's, as signClientCsr caps it", async () => {
  const now = new Date();
  const ca = await createClientCa("es", { validityMs: 2 * DAY, now });
  const { pem } = await makeCsr({});
  const policy = await checkCsr(pem, { source: "managed", subject: { commonName: "kb", organizationalUnit: "kb" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 1, renewAtFraction: 0.5 });
  if (!policy.ok) throw new Error(policy.reason);
  const issued = await issueClientLeafFromTemplate({ ca, spki: policy.csr.spki, subject: { commonName: "kb", organizationalUnit: "kb" }, validityMs: 365 * DAY, now });
  expect(issued.notAfter.getTime()).toBe(ca.certificate.notAfter.getTime());
  expect(new x509.X509Certificate(issued.certificatePem).notAfter.getTime()).toBe(ca.certificate.notAfter.getTime());
});
