import { beforeAll, describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import { x509 } from "../../../common/x509.ts";
import { createClientCa, type CertificateAuthority } from "../../../controller/pki/ca.ts";
import { privateKeyToPem } from "../../../controller/pki/keys.ts";
import { buildTrustBundle, EmptyTrustBundleError, type TrustBundleResult } from "../../../controller/trust/bundle.ts";
import { DAY, p256, pemOf, selfSignedLeaf } from "../../support/pki-fixtures.ts";
import { body, malformedCases, secret } from "../../support/malformed-pem.ts";

const NOW = new Date();


let ca: CertificateAuthority;
let goodA: x509.X509Certificate;
let goodB: x509.X509Certificate;
let goodC: x509.X509Certificate;
let goodD: x509.X509Certificate;
let pkcs8: string;

beforeAll(async () => {
  ca = await createClientCa("quickstart");
  [goodA, goodB, goodC, goodD] = await Promise.all([
    selfSignedLeaf({ cn: "good-a" }),
    selfSignedLeaf({ cn: "good-b" }),
    selfSignedLeaf({ cn: "good-c" }),
    selfSignedLeaf({ cn: "good-d" }),
  ]);
  pkcs8 = await privateKeyToPem((await p256()).privateKey);
});

const caSource = () => [{ label: "client CA (current)", pem: pemOf(ca.certificate) }];

describe("trust bundle hygiene", () => {
  test("at least 30 malformed inputs are each rejected with a reason while every valid certificate stays in", async () => {
    const { cases, fixtures } = await malformedCases(NOW);
    const { goodA, goodB, pkcs8 } = fixtures;
    const A = pemOf(goodA);
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
    // good-a arrives via bad-35 and good-a: one copy, the other recorded as a duplicate.
    const a = result.included.find((i) => i.subject === "CN=good-a")!;
    expect(a.duplicates.length).toBeGreaterThanOrEqual(1);
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
    expect(result.rejected).toEqual([{ source: "client CA (expired)", block: 1, code: "InvalidCertificate", reason: expect.stringMatching(/expired at .* \(line 1\)/) }]);
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
    expect(result.rejected[0]!.reason).toMatch(/^bundle limit reached: .* over the [\d.]+ (KiB|bytes) bundle limit$/);
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
