// agent/identity/key.ts: keys, and what a certificate must match (subject, key algorithm).
import { describe, expect, test } from "bun:test";
import { generateKey, keyAlgorithmOf, subjectMatches } from "../../../agent/identity/key.ts";
import { readCertificate } from "../../../agent/material/certificate.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";

describe("identity", () => {
  test.each(["ECDSA-P256", "RSA-2048"] as const)("%s key: PKCS#8 PEM that WebCrypto imports back", async (alg) => {
    const key = await generateKey(alg);
    expect(key.pkcs8Pem).toStartWith("-----BEGIN PRIVATE KEY-----\n");
    expect(key.pkcs8Pem).toEndWith("\n-----END PRIVATE KEY-----");
    const der = Uint8Array.from(atob(key.pkcs8Pem.split("\n").slice(1, -1).join("")), (c) => c.charCodeAt(0));
    const back = await crypto.subtle.importKey("pkcs8", der, key.keys.privateKey.algorithm as EcKeyImportParams, true, ["sign"]);
    expect(back.algorithm.name).toBe(alg === "RSA-2048" ? "RSASSA-PKCS1-v1_5" : "ECDSA");
  });
  test("a new key every time", async () => {
    const a = await generateKey("ECDSA-P256");
    const b = await generateKey("ECDSA-P256");
    expect(a.pkcs8Pem).not.toBe(b.pkcs8Pem);
  });
  test("subjectMatches compares CN and OU exactly", async () => {
    const ca = await TestCA.create("c");
    const leaf = readCertificate(new Uint8Array((await issueCertificate(ca, { cn: "a", ou: "b" })).certificate.rawData));
    expect(subjectMatches(leaf, { commonName: "a", organizationalUnit: "b" })).toBe(true);
    expect(subjectMatches(leaf, { commonName: "a", organizationalUnit: "c" })).toBe(false);
    expect(subjectMatches(leaf, { commonName: "A", organizationalUnit: "b" })).toBe(false);
  });
  test("keyAlgorithmOf names a P-256 key; a P-384 key is none of the intent's algorithms", async () => {
    const ca = await TestCA.create("c");
    expect(keyAlgorithmOf(readCertificate(new Uint8Array(ca.cert.rawData)))).toBe("ECDSA-P256");
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const leaf = await issueCertificate(ca, { cn: "x", publicKey: p384.publicKey });
    expect(keyAlgorithmOf(readCertificate(new Uint8Array(leaf.certificate.rawData)))).toBeUndefined();
  });
});
