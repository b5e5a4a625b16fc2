import { describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import {
  caFromSecretData,
  caToSecretData,
  createClientCa,
  rotateIn,
  shouldRotate,
  DEFAULT_ROTATE_BEFORE_MS,
} from "../../../controller/pki/ca.ts";
import { clientCertToSecretData, controllerSubject, issueControllerClientCertificate, needsReissue, signClientCsr } from "../../../controller/pki/leaf.ts";
import { createServingCa, issueServingCertificate, serviceDnsNames, servingNeedsReissue, servingToSecretData } from "../../../controller/pki/serving.ts";
import { internalClientCertSecretName } from "../../../controller/names.ts";
import { DAY, HOUR, makeCsr } from "../../support/pki-fixtures.ts";

async function verifiesAgainst(leaf: x509.X509Certificate, ca: x509.X509Certificate): Promise<boolean> {
  const chain = await new x509.X509ChainBuilder({ certificates: [ca] }).build(leaf);
  return chain.length === 2 && chain[1]!.equal(ca) && (await leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }));
}

describe("client CA", () => {
  test("is a self-signed P-256 CA with keyCertSign/cRLSign, SKI and the requested validity", async () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const ca = await createClientCa("quickstart", { now, validityMs: 30 * DAY });
    const cert = ca.certificate;
    expect(cert.subjectName.getField("CN")).toEqual(["quickstart-es-client-ca"]);
    expect(await cert.isSelfSigned()).toBe(true);
    expect(cert.publicKey.algorithm).toMatchObject({ name: "ECDSA", namedCurve: "P-256" });
    const bc = cert.getExtension(x509.BasicConstraintsExtension)!;
    expect(bc.ca).toBe(true);
    expect(bc.critical).toBe(true);
    const ku = cert.getExtension(x509.KeyUsagesExtension)!.usages;
    expect(ku & x509.KeyUsageFlags.keyCertSign).toBeTruthy();
    expect(ku & x509.KeyUsageFlags.cRLSign).toBeTruthy();
    expect(cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId).toMatch(/^[0-9a-f]{40}$/);
    expect(cert.notAfter.getTime()).toBe(now.getTime() + 30 * DAY);
    expect(cert.notBefore.getTime()).toBe(now.getTime() - 10 * 60 * 1000);
  });

  test("round-trips through Secret data (PKCS#8 key) and the restored key still signs", async () => {
    const ca = await createClientCa("rt");
    const data = await caToSecretData(ca);
    expect(atob(data["tls.key"])).toStartWith("-----BEGIN PRIVATE KEY-----");
    expect(atob(data["tls.crt"])).toStartWith("-----BEGIN CERTIFICATE-----");
    const restored = await caFromSecretData(data);
    expect(restored.certificate.equal(ca.certificate)).toBe(true);
    const { certificate } = await issueControllerClientCertificate({ ca: restored, esName: "rt" });
    expect(await verifiesAgainst(certificate, ca.certificate)).toBe(true);
  });

  test("refuses Secret data that is not a usable CA, naming the key at fault", async () => {
    const ca = await createClientCa("x");
    const leaf = await issueControllerClientCertificate({ ca, esName: "x" });
    await expect(caFromSecretData(await clientCertToSecretData(leaf))).rejects.toThrow(/not a CA certificate/);
    await expect(caFromSecretData(undefined)).rejects.toThrow(/tls.crt: missing/);
    const other = await createClientCa("y");
    const mixed = { "tls.crt": (await caToSecretData(ca))["tls.crt"], "tls.key": (await caToSecretData(other))["tls.key"] };
    await expect(caFromSecretData(mixed)).rejects.toThrow(/does not match/);
    await expect(caFromSecretData({ "tls.crt": "!!!", "tls.key": "x" })).rejects.toThrow(/tls.crt: not valid base64/);
  });

  test("shouldRotate / rotateIn honour rotate-before", () => {
    const notAfter = new Date("2026-06-01T00:00:00Z");
    const before = new Date(notAfter.getTime() - DEFAULT_ROTATE_BEFORE_MS - HOUR);
    const inside = new Date(notAfter.getTime() - DEFAULT_ROTATE_BEFORE_MS + 1);
    expect(shouldRotate(before, notAfter)).toBe(false);
    expect(shouldRotate(inside, notAfter)).toBe(true);
    expect(rotateIn(before, notAfter)).toBe(HOUR + 1000);
    expect(rotateIn(inside, notAfter)).toBe(0);
    expect(shouldRotate(before, notAfter, 2 * HOUR + DEFAULT_ROTATE_BEFORE_MS)).toBe(true);
  });
});

describe("client leaves", () => {
  test("controller certificate: CN eck-internal, OU = ES name, clientAuth only, not a CA, chains to the CA", async () => {
    const ca = await createClientCa("quickstart");
    const { certificate, privateKey } = await issueControllerClientCertificate({ ca, esName: "quickstart" });
    expect(internalClientCertSecretName("quickstart")).toBe("quickstart-es-internal-client-cert");
    expect(certificate.subjectName.getField("CN")).toEqual(["eck-internal"]);
    expect(certificate.subjectName.getField("OU")).toEqual(["quickstart"]);
    expect(certificate.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(certificate.getExtension(x509.BasicConstraintsExtension)!.ca).toBe(false);
    expect(certificate.getExtension(x509.KeyUsagesExtension)!.usages).toBe(x509.KeyUsageFlags.digitalSignature);
    expect(await verifiesAgainst(certificate, ca.certificate)).toBe(true);
    expect(privateKey.extractable).toBe(true);
  });

  test("CSR leaf: subject from the intent, AKI = CA SKI, backdated NotBefore, validity clamped to the CA", async () => {
    const now = new Date();
    const ca = await createClientCa("es", { validityMs: 10 * DAY, now });
    const { pem } = await makeCsr({ subject: "CN=kb, OU=kb" });
    const csr = new x509.Pkcs10CertificateRequest(pem);
    const leaf = await signClientCsr({ ca, csr, subject: { commonName: "kb", organizationalUnit: "kb" }, validityMs: 365 * DAY, now });
    expect(leaf.notBefore.getTime()).toBe(Math.floor((now.getTime() - 10 * 60 * 1000) / 1000) * 1000);
    expect(leaf.notAfter.getTime()).toBe(ca.certificate.notAfter.getTime());
    expect(leaf.getExtension(x509.AuthorityKeyIdentifierExtension)!.keyId).toBe(ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId);
    expect(new Uint8Array(leaf.publicKey.rawData)).toEqual(new Uint8Array(csr.publicKey.rawData));
    expect(await verifiesAgainst(leaf, ca.certificate)).toBe(true);
    const other = await signClientCsr({ ca, csr, subject: { commonName: "kb", organizationalUnit: "kb" }, now });
    expect(other.serialNumber).not.toBe(leaf.serialNumber);
  });

  test("needsReissue: each reason, and no reissue for a good certificate", async () => {
    const now = new Date();
    const ca = await createClientCa("es", { now });
    const subject = controllerSubject("es");
    const good = await clientCertToSecretData(await issueControllerClientCertificate({ ca, esName: "es", now }));
    expect(await needsReissue(good, { ca, subject, now })).toEqual({ reissue: false });

    const reason = async (data: Record<string, string> | undefined, check = {}) => {
      const decision = await needsReissue(data, { ca, subject, now, ...check });
      return decision.reissue ? decision.reason : "no reissue";
    };
    expect(await reason(undefined)).toMatch(/tls.crt: missing/);
    expect(await reason({ "tls.crt": btoa("garbage"), "tls.key": good["tls.key"] })).toMatch(/tls.crt/);
    expect(await reason(good, { subject: { commonName: "someone", organizationalUnit: "es" } })).toMatch(/CN.*want "someone"/);
    expect(await reason(good, { subject: { commonName: "eck-internal", organizationalUnit: "other" } })).toMatch(/OU.*want "other"/);
    expect(await reason(good, { ca: await createClientCa("es") })).toMatch(/not signed by the current client CA/);
    const foreignKey = await clientCertToSecretData(await issueControllerClientCertificate({ ca, esName: "es", now }));
    expect(await reason({ "tls.crt": good["tls.crt"], "tls.key": foreignKey["tls.key"] })).toMatch(/does not match/);
    const longCa = await createClientCa("es", { now, validityMs: 3 * 365 * DAY });
    const short = await clientCertToSecretData(await issueControllerClientCertificate({ ca: longCa, esName: "es", now, validityMs: 365 * DAY }));
    expect(await reason(short, { ca: longCa, now: new Date(now.getTime() + 365 * DAY - HOUR) })).toMatch(/rotate-before/);
  });

  test("needsReissue: a leaf that lasts as long as its CA is not reissued by that CA in the rotate-before window (the same end date again, every reconcile)", async () => {
    const now = new Date();
    const ca = await createClientCa("es", { now, validityMs: 2 * HOUR });
    const subject = controllerSubject("es");
    const capped = await clientCertToSecretData(await issueControllerClientCertificate({ ca, esName: "es", now, validityMs: 365 * DAY }));
    const late = new Date(now.getTime() + HOUR + 30 * 60 * 1000); // 30 min before both expire, inside a 24 h window
    expect(await needsReissue(capped, { ca, subject, now: late, rotateBeforeMs: 24 * HOUR })).toEqual({ reissue: false });
    // A new CA (the rotation) still replaces it.
    expect(await needsReissue(capped, { ca: await createClientCa("es", { now }), subject, now: late })).toMatchObject({ reissue: true });
  });
});

describe("serving certificate", () => {
  test("carries the Service DNS names, localhost and 127.0.0.1, serverAuth, chains to the serving CA", async () => {
    const ca = await createServingCa();
    const dnsNames = serviceDnsNames("es-mtls", "es-mtls-system");
    const { certificate } = await issueServingCertificate({ ca, dnsNames });
    const san = certificate.getExtension(x509.SubjectAlternativeNameExtension)!.names.toJSON();
    expect(san).toContainEqual({ type: "dns", value: "es-mtls.es-mtls-system.svc" });
    expect(san).toContainEqual({ type: "dns", value: "es-mtls.es-mtls-system.svc.cluster.local" });
    expect(san).toContainEqual({ type: "dns", value: "localhost" });
    expect(san).toContainEqual({ type: "ip", value: "127.0.0.1" });
    expect(certificate.getExtension(x509.ExtendedKeyUsageExtension)!.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    expect(await verifiesAgainst(certificate, ca.certificate)).toBe(true);
  });

  test("servingNeedsReissue: names changed, other CA, rotation window, up to date", async () => {
    const now = new Date();
    const ca = await createServingCa({ now });
    const dnsNames = serviceDnsNames("svc", "ns");
    const data = await servingToSecretData(await issueServingCertificate({ ca, dnsNames, now }));
    expect(await servingNeedsReissue(data, { ca, dnsNames, now })).toEqual({ reissue: false });
    expect(await servingNeedsReissue(data, { ca, dnsNames: serviceDnsNames("svc", "other"), now })).toMatchObject({ reissue: true, reason: expect.stringMatching(/subject alternative names/) });
    expect(await servingNeedsReissue(data, { ca: await createServingCa(), dnsNames, now })).toMatchObject({ reason: expect.stringMatching(/not signed by the current serving CA/) });
    const longCa = await createServingCa({ now, validityMs: 5 * 365 * DAY });
    const shorter = await servingToSecretData(await issueServingCertificate({ ca: longCa, dnsNames, now }));
    expect(await servingNeedsReissue(shorter, { ca: longCa, dnsNames, now: new Date(now.getTime() + 365 * DAY) })).toMatchObject({ reason: expect.stringMatching(/rotate-before/) });
  });
});
