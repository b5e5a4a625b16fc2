// agent/identity/key.ts: keys, CSRs and the subject check.
import { describe, expect, test } from "bun:test";
import { createCsr, generateKey, subjectMatches, CLIENT_AUTH_OID } from "../../../agent/identity/key.ts";
import { x509 } from "../../../common/x509.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";

describe("identity", () => {
  test.each(["ECDSA-P256", "RSA-2048"] as const)("%s key: PKCS#8 PEM and a CSR with subject and clientAuth", async (alg) => {
    const key = await generateKey(alg);
    expect(key.pkcs8Pem).toStartWith("-----BEGIN PRIVATE KEY-----");
    const pem = await createCsr(key, { commonName: "kb, with comma", organizationalUnit: "qs" });
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(await csr.verify()).toBe(true);
    expect(csr.subjectName.getField("CN")).toEqual(["kb, with comma"]);
    expect(csr.subjectName.getField("OU")).toEqual(["qs"]);
    const eku = csr.extensions.find((e) => e instanceof x509.ExtendedKeyUsageExtension) as x509.ExtendedKeyUsageExtension;
    expect(eku.usages).toEqual([CLIENT_AUTH_OID]);
    const bc = csr.extensions.find((e) => e instanceof x509.BasicConstraintsExtension) as x509.BasicConstraintsExtension;
    expect(bc.ca).toBe(false);
    expect((csr.publicKey.algorithm as { name: string }).name).toBe(alg === "RSA-2048" ? "RSASSA-PKCS1-v1_5" : "ECDSA");
  });
  test("a new key every time", async () => {
    const a = await generateKey("ECDSA-P256");
    const b = await generateKey("ECDSA-P256");
    expect(a.pkcs8Pem).not.toBe(b.pkcs8Pem);
  });
  test("subjectMatches compares CN and OU exactly", async () => {
    const ca = await TestCA.create("c");
    const leaf = await issueCertificate(ca, { cn: "a", ou: "b" });
    expect(subjectMatches(leaf.certificate, { commonName: "a", organizationalUnit: "b" })).toBe(true);
    expect(subjectMatches(leaf.certificate, { commonName: "a", organizationalUnit: "c" })).toBe(false);
  });
});
