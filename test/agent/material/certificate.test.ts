// agent/material/certificate.ts: the agent's reading of a certificate (the runtime's X509Certificate
// and a DER walk) says what @peculiar/x509's did: subject text and attributes, validity, serial,
// extended key usage, the key; a malformed certificate is refused.
import { describe, expect, test } from "bun:test";
import { readCertificate } from "../../../agent/material/certificate.ts";
import { x509 } from "../../../common/x509.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";

const ca = await TestCA.create("reader ca");
const der = (c: x509.X509Certificate) => new Uint8Array(c.rawData);

describe("readCertificate", () => {
  test("agrees with @peculiar/x509 on a client leaf with a subject that needs escaping", async () => {
    const { certificate: lib } = await issueCertificate(ca, { subject: "CN=a\\, b\\+c, OU=qs, O=es-mtls", notAfter: new Date(Date.UTC(2051, 0, 1)) });
    const c = readCertificate(der(lib));
    expect(c.subject).toBe(lib.subject);
    expect(c.subjectAttributes).toEqual([
      { type: "2.5.4.3", value: "a, b+c", text: true },
      { type: "2.5.4.11", value: "qs", text: true },
      { type: "2.5.4.10", value: "es-mtls", text: true },
    ]);
    expect(c.notBefore.getTime()).toBe(lib.notBefore.getTime());
    expect(c.notAfter.toISOString()).toBe("2051-01-01T00:00:00.000Z");
    expect(c.serialNumber).toBe(lib.serialNumber.toLowerCase());
    expect(c.extendedKeyUsage).toEqual(["1.3.6.1.5.5.7.3.2"]);
    expect(c.selfIssued).toBe(false);
    expect(Buffer.from(c.publicKey().export({ type: "spki", format: "der" })).equals(Buffer.from(lib.publicKey.rawData))).toBe(true);
  });

  test("a CA without extended key usage: none read, and its issuer is itself", () => {
    const c = readCertificate(der(ca.cert));
    expect(c.extendedKeyUsage).toBeUndefined();
    expect(c.selfIssued).toBe(true);
    expect(c.subject).toBe(ca.cert.subject);
  });

  test("garbage and a truncated certificate are refused", () => {
    expect(() => readCertificate(Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x00))).toThrow();
    expect(() => readCertificate(der(ca.cert).subarray(0, 100))).toThrow();
  });
});
