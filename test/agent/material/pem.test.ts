// agent/material/pem.ts: what the agent accepts as a trust bundle, a certificate and a key.
import { describe, expect, test } from "bun:test";
import { PemError, validateBundle, validateCertificate, validateKeyPair } from "../../../agent/material/pem.ts";
import { TestCA, issueCertificate, privateKeyPem } from "../../support/test-ca.ts";

describe("pem", async () => {
  const ca = await TestCA.create("unit ca");
  const ca2 = await TestCA.create("unit ca 2");
  const leaf = await issueCertificate(ca, { cn: "leaf" });
  const other = await issueCertificate(ca, { cn: "other" });
  const expired = await issueCertificate(ca, { cn: "expired", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 1000) });

  test("accepts a bundle of certificates and returns them", () => {
    expect(validateBundle(ca.pem + ca2.pem).length).toBe(2);
  });
  test.each([
    ["", /trust bundle: empty/],
    ["   \n", /trust bundle: empty/],
    ["hello", /unexpected text outside PEM blocks/],
    ["-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", /block 1: not a parseable X.509 certificate/],
  ])("refuses %j", (text, re) => {
    expect(() => validateBundle(text)).toThrow(re);
  });
  test("refuses a private key in a bundle, naming the block", () => {
    expect(() => validateBundle(ca.pem + leaf.keyPem!)).toThrow(/block 2: is a "PRIVATE KEY" block, only CERTIFICATE is allowed \(a private key must never be placed here\)/);
  });
  test("refuses an expired certificate, naming it", () => {
    expect(() => validateBundle(ca.pem + expired.certPem)).toThrow(/block 2: certificate "CN=expired" expired at/);
  });
  test("refuses oversized input", () => {
    expect(() => validateBundle(ca.pem + " ".repeat(1024 * 1024))).toThrow(/exceeds the limit of 1048576/);
  });
  test("refuses PEM headers", () => {
    const withHeaders = ca.pem.replace("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n");
    expect(() => validateBundle(withHeaders)).toThrow(PemError);
  });
  test("key pair: matching passes, mismatching names the certificate", () => {
    const cert = validateCertificate(leaf.certPem);
    expect(() => validateKeyPair(cert, leaf.keyPem!)).not.toThrow();
    expect(() => validateKeyPair(cert, other.keyPem!, "tls.key")).toThrow(/tls.key: does not match the public key of certificate "CN=leaf"/);
    expect(() => validateKeyPair(cert, ca.pem, "tls.key")).toThrow(/is a "CERTIFICATE" block, expected PRIVATE KEY/);
    expect(() => validateKeyPair(cert, leaf.keyPem! + leaf.keyPem!, "tls.key")).toThrow(/exactly one PEM block, found 2/);
  });
});

describe("pem fixtures sanity", () => {
  test("privateKeyPem round-trips through validateKeyPair", async () => {
    const ca = await TestCA.create("x");
    const l = await issueCertificate(ca, { cn: "y" });
    expect(await privateKeyPem(((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair).privateKey)).toContain("PRIVATE KEY");
    expect(() => validateKeyPair(validateCertificate(l.certPem), l.keyPem!)).not.toThrow();
  });
});
