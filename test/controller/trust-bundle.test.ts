import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../../controller/pki/x509.ts";
import { createClientCa, type CertificateAuthority } from "../../controller/pki/ca.ts";
import { privateKeyToPem } from "../../controller/pki/keys.ts";
import { buildTrustBundle, EmptyTrustBundleError, type TrustBundleResult } from "../../controller/trust/bundle.ts";
import { DAY, makeCsr, p256, pemOf, rsa, selfSignedLeaf } from "./fixtures.ts";

const NOW = new Date();

function secret(name: string, tlsCrt: string | undefined, namespace = "default", rawData?: Record<string, string>): V1Secret {
  return { metadata: { name, namespace }, data: rawData ?? (tlsCrt === undefined ? {} : { "tls.crt": btoa(tlsCrt) }) };
}

function body(pem: string): string {
  return pem.trim().split("\n").slice(1, -1).join("\n");
}

function block(label: string, b64: string): string {
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

let ca: CertificateAuthority;
let goodA: x509.X509Certificate;
let goodB: x509.X509Certificate;
let goodC: x509.X509Certificate;
let goodD: x509.X509Certificate;
let expired: x509.X509Certificate;
let notYetValid: x509.X509Certificate;
let caInChain: x509.X509Certificate;
let pkcs8: string;
let csrPem: string;

beforeAll(async () => {
  ca = await createClientCa("quickstart");
  [goodA, goodB, goodC, goodD, caInChain] = await Promise.all([
    selfSignedLeaf({ cn: "good-a" }),
    selfSignedLeaf({ cn: "good-b" }),
    selfSignedLeaf({ cn: "good-c" }),
    selfSignedLeaf({ cn: "good-d" }),
    selfSignedLeaf({ cn: "some-issuing-ca", ca: true }),
  ]);
  expired = await selfSignedLeaf({ cn: "expired", notBefore: new Date(NOW.getTime() - 10 * DAY), notAfter: new Date(NOW.getTime() - DAY) });
  notYetValid = await selfSignedLeaf({ cn: "future", notBefore: new Date(NOW.getTime() + DAY), notAfter: new Date(NOW.getTime() + 10 * DAY) });
  pkcs8 = await privateKeyToPem((await p256()).privateKey);
  csrPem = (await makeCsr({})).pem;
});

const caSource = () => [{ label: "client CA (current)", pem: pemOf(ca.certificate) }];

describe("trust bundle hygiene", () => {
  test("at least 30 malformed inputs are each rejected with a reason while every valid certificate stays in", async () => {
    const A = pemOf(goodA);
    const derA = new Uint8Array(goodA.rawData);
    const b64A = body(A);
    const rsaKey = await crypto.subtle.exportKey("pkcs8", (await rsa(2048)).privateKey);
    const cases: { name: string; secret: V1Secret; reason: RegExp }[] = [
      { name: "pkcs8 private key", secret: secret("bad-01", pkcs8), reason: /"PRIVATE KEY" block: private key material/ },
      { name: "RSA PRIVATE KEY", secret: secret("bad-02", block("RSA PRIVATE KEY", body(x509.PemConverter.encode(rsaKey, "X")))), reason: /"RSA PRIVATE KEY" block: private key material/ },
      { name: "EC PRIVATE KEY", secret: secret("bad-03", block("EC PRIVATE KEY", "MHcCAQEEIA==")), reason: /"EC PRIVATE KEY" block: private key/ },
      { name: "ENCRYPTED PRIVATE KEY", secret: secret("bad-04", block("ENCRYPTED PRIVATE KEY", "MIIB")), reason: /"ENCRYPTED PRIVATE KEY" block: private key/ },
      { name: "garbage text", secret: secret("bad-05", "hello world\nthis is not pem\n"), reason: /non-PEM text outside any block \(lines 1-2\)/ },
      { name: "empty tls.crt", secret: secret("bad-06", ""), reason: /contains no PEM block/ },
      { name: "whitespace only", secret: secret("bad-07", "\n  \n\t\n"), reason: /contains no PEM block/ },
      { name: "no tls.crt key", secret: secret("bad-08", undefined), reason: /no tls.crt key in the Secret/ },
      { name: "data not base64", secret: secret("bad-09", undefined, "default", { "tls.crt": "%%%not-base64%%%" }), reason: /tls.crt is not valid base64/ },
      { name: "BEGIN without END", secret: secret("bad-10", `-----BEGIN CERTIFICATE-----\n${b64A}\n`), reason: /truncated: no END line/ },
      { name: "END label mismatch", secret: secret("bad-11", `-----BEGIN CERTIFICATE-----\n${b64A}\n-----END X509 CRL-----\n`), reason: /ends with END "X509 CRL"/ },
      { name: "invalid base64 characters", secret: secret("bad-12", block("CERTIFICATE", "MIIB!!!!$$$$")), reason: /body is not valid base64/ },
      { name: "base64 cut mid-quantum", secret: secret("bad-13", block("CERTIFICATE", b64A.replace(/\n/g, "").slice(0, -3))), reason: /not valid base64|truncated or trailing/ },
      { name: "base64 cut in half", secret: secret("bad-14", block("CERTIFICATE", b64A.replace(/\n/g, "").slice(0, 200))), reason: /truncated or trailing data/ },
      { name: "trailing bytes after DER", secret: secret("bad-15", x509.PemConverter.encode(new Uint8Array([...derA, 0, 0, 0, 0]).buffer, "CERTIFICATE")), reason: /truncated or trailing data/ },
      { name: "empty CERTIFICATE block", secret: secret("bad-16", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), reason: /CERTIFICATE block is empty/ },
      { name: "PEM headers", secret: secret("bad-17", `-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n${b64A}\n-----END CERTIFICATE-----\n`), reason: /PEM headers \(Proc-Type\)/ },
      { name: "TRUSTED CERTIFICATE", secret: secret("bad-18", block("TRUSTED CERTIFICATE", b64A)), reason: /"TRUSTED CERTIFICATE" block: only CERTIFICATE/ },
      { name: "CSR", secret: secret("bad-19", csrPem), reason: /"CERTIFICATE REQUEST" block: only CERTIFICATE/ },
      { name: "PUBLIC KEY", secret: secret("bad-20", x509.PemConverter.encode(goodA.publicKey.rawData, "PUBLIC KEY")), reason: /"PUBLIC KEY" block: only CERTIFICATE/ },
      { name: "X509 CRL", secret: secret("bad-21", block("X509 CRL", "MAA=")), reason: /"X509 CRL" block: only CERTIFICATE/ },
      { name: "DER not a SEQUENCE", secret: secret("bad-22", block("CERTIFICATE", btoa("hello, not DER"))), reason: /does not hold a DER SEQUENCE/ },
      { name: "CSR DER under CERTIFICATE label", secret: secret("bad-23", csrPem.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE")), reason: /not a parseable X.509 certificate/ },
      { name: "expired", secret: secret("bad-24", pemOf(expired)), reason: /certificate "CN=expired" expired at/ },
      { name: "not yet valid", secret: secret("bad-25", pemOf(notYetValid)), reason: /certificate "CN=future" is not valid before/ },
      { name: "raw DER without armour", secret: secret("bad-26", undefined, "default", { "tls.crt": btoa(String.fromCharCode(...derA)) }), reason: /non-PEM text/ },
      { name: "base64 without armour", secret: secret("bad-27", b64A.replace(/\n/g, "")), reason: /non-PEM text/ },
      { name: "NUL and binary junk", secret: secret("bad-28", "\u0000\u0001\u0002\u00ff\u00fe"), reason: /non-PEM text/ },
      { name: "PKCS7 block", secret: secret("bad-29", block("PKCS7", "MAA=")), reason: /"PKCS7" block: only CERTIFICATE/ },
      { name: "issuing CA after the leaf", secret: secret("bad-30", pemOf(goodB) + pemOf(caInChain)), reason: /CA certificate in the chain after the leaf is not pinned/ },
      { name: "oversized tls.crt", secret: secret("bad-31", A.repeat(200)), reason: /bytes, over the limit of 65536 per source/ },
      { name: "too many blocks", secret: secret("bad-32", pemOf(goodC).repeat(17)), reason: /more than 16 PEM blocks in one source/ },
      { name: "YAML instead of PEM", secret: secret("bad-33", "tls.crt: |\n  abc\n"), reason: /non-PEM text/ },
      { name: "lower-case label", secret: secret("bad-34", block("certificate", b64A)), reason: /"certificate" block: only CERTIFICATE/ },
      { name: "BEGIN inside a block", secret: secret("bad-35", `-----BEGIN CERTIFICATE-----\n${b64A.slice(0, 64)}\n${A}`), reason: /truncated: no END line before the next BEGIN/ },
      { name: "cert followed by its key", secret: secret("bad-36", pemOf(goodD) + pkcs8), reason: /private key material/ },
      { name: "explanatory text before a cert", secret: secret("bad-37", `subject=CN=good-a\nissuer=CN=good-a\n${A}`), reason: /non-PEM text outside any block \(lines 1-2\)/ },
    ];
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const valid = [secret("good-a", A), secret("good-b", pemOf(goodB))];
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [...cases.map((c) => c.secret), ...valid], now: NOW });

    for (const c of cases) {
      const where = `Secret default/${c.secret.metadata!.name} tls.crt`;
      const reasons = result.rejected.filter((r) => r.source === where).map((r) => r.reason);
      expect({ case: c.name, matched: reasons.some((r) => c.reason.test(r)) }).toEqual({ case: c.name, matched: true });
    }
    // Never leak key material into reasons.
    expect(JSON.stringify(result.rejected)).not.toContain(body(pkcs8).slice(0, 40));

    const includedSubjects = result.included.map((i) => i.subject);
    for (const cn of ["CN=quickstart-es-client-ca, OU=quickstart", "CN=good-a", "CN=good-b", "CN=good-c", "CN=good-d"]) {
      expect(includedSubjects).toContain(cn);
    }
    expect(includedSubjects).not.toContain("CN=some-issuing-ca");
    expect(includedSubjects).not.toContain("CN=expired");
    expect(includedSubjects).not.toContain("CN=future");
    // good-a arrives via bad-37, bad-35 and good-a: one copy, the others recorded as duplicates.
    const a = result.included.find((i) => i.subject === "CN=good-a")!;
    expect(a.duplicates.length).toBeGreaterThanOrEqual(2);
    expectWellFormed(result);
  });

  test("dedupes by DER digest, orders CA first then Secrets by namespace/name, and is stable under input order", async () => {
    const secrets = [
      secret("zeta", pemOf(goodA), "b"),
      secret("alpha", pemOf(goodB), "b"),
      secret("same-as-zeta", pemOf(goodA), "a"),
      secret("m", pemOf(goodC) + pemOf(goodD), "a"),
    ];
    const first = await buildTrustBundle({ caCertificates: caSource(), secrets, now: NOW });
    const second = await buildTrustBundle({ caCertificates: caSource(), secrets: [...secrets].reverse(), now: NOW });
    expect(second.pem).toBe(first.pem);
    expect(second.sha256).toBe(first.sha256);
    expect(first.included.map((i) => `${i.source}#${i.block}`)).toEqual([
      "client CA (current)#1",
      "Secret a/m tls.crt#1",
      "Secret a/m tls.crt#2",
      "Secret a/same-as-zeta tls.crt#1",
      "Secret b/alpha tls.crt#1",
    ]);
    expect(first.included.find((i) => i.source === "Secret a/same-as-zeta tls.crt")!.duplicates).toEqual(["Secret b/zeta tls.crt block 1"]);
    expect(first.rejected).toEqual([]);
    expect(first.sha256).toBe(createHash("sha256").update(first.pem).digest("hex"));
    expect(first.included[0]!.sha256).toBe(createHash("sha256").update(new Uint8Array(ca.certificate.rawData)).digest("hex"));
    expectWellFormed(first);
  });

  test("keeps the previous CA during a rotation and drops an expired one with a reason", async () => {
    const previous = await createClientCa("quickstart");
    const old = await createClientCa("quickstart", { now: new Date(NOW.getTime() - 400 * DAY) });
    const result = await buildTrustBundle({
      caCertificates: [...caSource(), { label: "client CA (previous)", pem: pemOf(previous.certificate) }, { label: "client CA (expired)", pem: pemOf(old.certificate) }],
      secrets: [],
      now: NOW,
    });
    expect(result.included.map((i) => i.source)).toEqual(["client CA (current)", "client CA (previous)"]);
    expect(result.rejected).toEqual([{ source: "client CA (expired)", block: 1, reason: expect.stringMatching(/expired at .* \(line 1\)/) }]);
  });

  test("is never empty: only bad input raises EmptyTrustBundleError carrying the reasons", async () => {
    const attempt = buildTrustBundle({ caCertificates: [], secrets: [secret("k", pkcs8)], now: NOW });
    await expect(attempt).rejects.toBeInstanceOf(EmptyTrustBundleError);
    const error = (await attempt.catch((e: unknown) => e)) as EmptyTrustBundleError;
    expect(error.rejected).toHaveLength(1);
    expect(error.rejected[0]!.reason).toMatch(/private key/);
  });

  test("a bundle size limit leaves whole Secrets out, in order, and keeps the CA", async () => {
    const secrets = [secret("s1", pemOf(goodA)), secret("s2", pemOf(goodB)), secret("s3", pemOf(goodC))];
    const caBytes = x509.PemConverter.encode(ca.certificate.rawData, "CERTIFICATE").length + 1;
    const oneLeaf = x509.PemConverter.encode(goodA.rawData, "CERTIFICATE").length + 1;
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets, now: NOW, limits: { maxBundleBytes: caBytes + oneLeaf + 10 } });
    expect(result.included.map((i) => i.source)).toEqual(["client CA (current)", "Secret default/s1 tls.crt"]);
    expect(result.rejected.map((r) => r.source)).toEqual(["Secret default/s2 tls.crt", "Secret default/s3 tls.crt"]);
    expect(result.rejected[0]!.reason).toMatch(/larger than \d+ bytes/);
    expect(result.pem.length).toBeLessThanOrEqual(caBytes + oneLeaf + 10);
  });
});

function expectWellFormed(result: TrustBundleResult) {
  const blocks = x509.PemConverter.decodeWithHeaders(result.pem);
  expect(blocks.length).toBe(result.included.length);
  expect(blocks.every((b) => b.type === "CERTIFICATE" && b.headers.length === 0)).toBe(true);
  for (const b of blocks) expect(() => new x509.X509Certificate(b.rawData)).not.toThrow();
  expect(result.pem.endsWith("-----END CERTIFICATE-----\n")).toBe(true);
}
