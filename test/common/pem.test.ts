// common/pem.ts: the one PEM scanner of the controller and the agent. Each case is shown at the
// scanner (the data it returns, under both policies) and at both sides (how the controller's trust
// bundle and the agent's material validation map it to their own rejections and errors).
import { beforeAll, describe, expect, test } from "bun:test";
import {
  checkDerLength,
  CONTROLLER_MATERIAL_POLICY,
  decodePemBlock,
  encodePem,
  isExpired,
  scanPem,
  USER_SECRET_POLICY,
} from "../../common/pem.ts";
import { x509 } from "../../common/x509.ts";
import { PemError, validateBundle, validBundlePart } from "../../agent/material/pem.ts";
import { buildTrustBundle } from "../../controller/trust/bundle.ts";
import { selfSignedClient, TestCA } from "../support/test-ca.ts";

const HOUR = 3_600_000;
let A: string; // a valid certificate's PEM, ending with \n
let B: string;
let ca: TestCA;
beforeAll(async () => {
  ca = await TestCA.create("pem test ca");
  A = (await selfSignedClient({ cn: "a" })).certPem;
  B = (await selfSignedClient({ cn: "b" })).certPem;
});

const body = (pem: string) => pem.trim().split("\n").slice(1, -1).join("");
const block = (label: string, b64: string) => `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
const secret = (tlsCrt: string) => ({ metadata: { name: "s", namespace: "default" }, data: { "tls.crt": btoa(tlsCrt) } });
/** The controller's view of a user's Secret: the trust bundle built from the CA plus that Secret. */
const controllerBuild = (tlsCrt: string, now?: Date) => buildTrustBundle({ caCertificates: [{ label: "client CA", pem: ca.pem }], secrets: [secret(tlsCrt)], ...(now ? { now } : {}) });

describe("stray text: a user's Secret reports it, what the controller sends an agent refuses it", () => {
  const lineCount = (pem: string) => pem.split("\n").length - 1;
  const cases: Array<[string, (a: string, b: string) => string, (a: string, b: string) => number[]]> = [
    ["before the blocks", (a, b) => `# issued by the platform team\n${a}${b}`, () => [1]],
    ["between the blocks", (a, b) => `${a}subject=CN=b\n${b}`, (a) => [lineCount(a) + 1]],
    ["after the blocks", (a, b) => `${a}${b}trailing note\n`, (a, b) => [lineCount(a) + lineCount(b) + 1]],
  ];
  test.each(cases)("%s", async (_, make, where) => {
    const text = make(A, B);
    const lines = where(A, B);
    const user = scanPem(text, USER_SECRET_POLICY);
    expect(user.blocks.map((b) => b.label)).toEqual(["CERTIFICATE", "CERTIFICATE"]);
    expect(user.problems).toEqual([]);
    expect(user.strayText.map((s) => s.line)).toEqual(lines);
    expect(user.strayText[0]!.reason).toMatch(/^non-PEM text outside any block \(lines \d+-\d+\)$/);

    const material = scanPem(text, CONTROLLER_MATERIAL_POLICY);
    expect(material.blocks).toHaveLength(2);
    expect(material.strayText).toEqual([]);
    expect(material.problems.map((p) => [p.code, p.line, p.index])).toEqual(lines.map((line) => ["StrayText", line, null]));

    // The controller trusts both certificates and says where the text was; the agent refuses the whole.
    const built = await controllerBuild(text);
    expect(built.included.map((i) => i.subject)).toEqual(["CN=pem test ca", "CN=a", "CN=b"]);
    expect(built.rejected).toEqual([]);
    expect(built.ignoredText.map((t) => t.line)).toEqual(lines);
    expect(() => validateBundle(text)).toThrow(PemError);
    expect(() => validateBundle(text)).toThrow(new RegExp(`trust bundle: unexpected text outside PEM blocks at line ${lines[0]}: "`));
  });

  test("only stray text: no block under either policy; the controller rejects the source, the agent the bundle", async () => {
    const text = "hello world\nthis is not pem\n";
    expect(scanPem(text, USER_SECRET_POLICY)).toMatchObject({ blocks: [], problems: [], strayText: [{ line: 1, lastLine: 2, text: "hello world\nthis is not pem" }] });
    expect(scanPem(text, CONTROLLER_MATERIAL_POLICY)).toMatchObject({ blocks: [], strayText: [], problems: [{ code: "StrayText", line: 1, text: "hello world\nthis is not pem" }] });
    expect((await controllerBuild(text)).rejected).toMatchObject([{ code: "NoPemBlock" }]);
    expect(() => validateBundle(text)).toThrow(/unexpected text outside PEM blocks at line 1: "hello world\\nthis is not pem"/);
  });
});

describe("framing", () => {
  test("empty input: nothing at all, under both policies; the controller has no block, the agent refuses it as empty", async () => {
    for (const policy of [USER_SECRET_POLICY, CONTROLLER_MATERIAL_POLICY]) {
      expect(scanPem("", policy)).toEqual({ blocks: [], problems: [], strayText: [] });
      expect(scanPem("\n  \r\n\t\n", policy)).toEqual({ blocks: [], problems: [], strayText: [] });
    }
    expect((await controllerBuild("")).rejected).toMatchObject([{ code: "NoPemBlock", reason: "contains no PEM block" }]);
    expect(() => validateBundle("")).toThrow(/trust bundle: empty/);
  });

  test("a BEGIN without END and a mismatched END are problems under both policies", async () => {
    const truncated = `-----BEGIN CERTIFICATE-----\n${body(A)}\n`;
    const mismatched = `-----BEGIN CERTIFICATE-----\n${body(A)}\n-----END X509 CRL-----\n`;
    for (const policy of [USER_SECRET_POLICY, CONTROLLER_MATERIAL_POLICY]) {
      expect(scanPem(truncated, policy).problems).toEqual([{ code: "Truncated", index: 1, line: 1, reason: 'block "CERTIFICATE" is truncated: no END line' }]);
      expect(scanPem(mismatched, policy).problems).toEqual([{ code: "LabelMismatch", index: 1, line: 1, reason: 'block "CERTIFICATE" ends with END "X509 CRL"' }]);
    }
    expect((await controllerBuild(truncated)).rejected).toMatchObject([{ code: "MalformedBlock", block: 1 }]);
    expect(() => validateBundle(truncated)).toThrow(/trust bundle, block 1: not valid PEM: block "CERTIFICATE" is truncated/);
  });

  test("files concatenated without their last newline are two blocks", () => {
    const joined = A.trimEnd() + B;
    const scan = scanPem(joined, CONTROLLER_MATERIAL_POLICY);
    expect(scan.problems).toEqual([]);
    expect(scan.blocks.map((b) => [b.index, b.line])).toEqual([
      [1, 1],
      [2, A.trimEnd().split("\n").length],
    ]);
    expect(validateBundle(joined).map((c) => c.subject)).toEqual(["CN=a", "CN=b"]);
  });

  test("CRLF and indentation are read as the lines they are", () => {
    const crlf = ("  " + A.replaceAll("\n", "\r\n  ")).trimEnd();
    const [only] = scanPem(crlf, CONTROLLER_MATERIAL_POLICY).blocks;
    expect(only!.text + "\n").toBe(A);
  });
});

describe("a block's body", () => {
  test("bad base64: BadBase64; the controller rejects the block, the agent the material", async () => {
    for (const b64 of ["MIIB!!!!$$$$", body(A).slice(0, -3), `${body(A).slice(0, 8)}==${body(A).slice(8)}`]) {
      const text = block("CERTIFICATE", b64);
      const [scanned] = scanPem(text, USER_SECRET_POLICY).blocks;
      expect(decodePemBlock(scanned!)).toEqual({ ok: false, code: "BadBase64", reason: "CERTIFICATE block body is not valid base64" });
      expect((await controllerBuild(text)).rejected).toEqual([{ source: "Secret default/s tls.crt", block: 1, code: "InvalidCertificate", reason: "CERTIFICATE block body is not valid base64 (line 1)" }]);
      expect(() => validateBundle(text)).toThrow(/trust bundle, block 1: not valid PEM: CERTIFICATE block body is not valid base64/);
    }
  });

  test("an empty block: Empty", () => {
    const [scanned] = scanPem("-----BEGIN CERTIFICATE-----\n\n-----END CERTIFICATE-----\n", USER_SECRET_POLICY).blocks;
    expect(decodePemBlock(scanned!)).toMatchObject({ ok: false, code: "Empty" });
  });

  test("headers are returned, not judged: the controller and the agent both refuse them on a certificate", async () => {
    const text = A.replace("-----BEGIN CERTIFICATE-----\n", "-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\n");
    const decoded = decodePemBlock(scanPem(text, USER_SECRET_POLICY).blocks[0]!);
    expect(decoded.ok && decoded.headers).toEqual([
      { key: "Proc-Type", value: "4,ENCRYPTED" },
      { key: "DEK-Info", value: "AES-128-CBC,00" },
    ]);
    expect((await controllerBuild(text)).rejected[0]!.reason).toMatch(/PEM headers \(Proc-Type, DEK-Info\)/);
    expect(() => validateBundle(text)).toThrow(/block 1: PEM headers are not allowed/);
  });

  test("truncated or extended DER: the outer length says so, on both sides", async () => {
    const der = new Uint8Array(new x509.X509Certificate(A).rawData);
    expect(checkDerLength(der, "CERTIFICATE")).toEqual({ ok: true });
    const cut = der.subarray(0, 150);
    const longer = new Uint8Array([...der, 0, 0]);
    expect(checkDerLength(cut, "CERTIFICATE")).toEqual({ ok: false, code: "DerLengthMismatch", reason: `CERTIFICATE block holds 150 bytes but its DER says ${der.length}: truncated or trailing data` });
    expect(checkDerLength(longer, "CERTIFICATE")).toMatchObject({ ok: false, code: "DerLengthMismatch" });
    expect(checkDerLength(new TextEncoder().encode("hello, not DER"), "CERTIFICATE")).toMatchObject({ ok: false, code: "NotDerSequence" });
    for (const bytes of [cut, longer]) {
      const text = encodePem(bytes, "CERTIFICATE") + "\n";
      expect((await controllerBuild(text)).rejected[0]).toMatchObject({ code: "InvalidCertificate", reason: expect.stringMatching(/truncated or trailing data/) });
      expect(() => validateBundle(text)).toThrow(/trust bundle, block 1: not a parseable X.509 certificate: CERTIFICATE block holds \d+ bytes but its DER says \d+: truncated or trailing data/);
    }
  });

  test("a wrong block type is framed and decoded like any other; each side refuses it by its label", async () => {
    const key = (await selfSignedClient({ cn: "k" })).keyPem!;
    const scanned = scanPem(A + key, USER_SECRET_POLICY).blocks;
    expect(scanned.map((b) => b.label)).toEqual(["CERTIFICATE", "PRIVATE KEY"]);
    expect(decodePemBlock(scanned[1]!).ok).toBe(true);
    expect((await controllerBuild(A + key)).rejected).toMatchObject([{ code: "InvalidCertificate", block: 2, reason: expect.stringMatching(/"PRIVATE KEY" block: private key material never goes into a trust bundle/) }]);
    expect(() => validateBundle(A + key)).toThrow(/block 2: is a "PRIVATE KEY" block, only CERTIFICATE is allowed/);
    const csr = block("CERTIFICATE REQUEST", body(A));
    expect((await controllerBuild(csr)).rejected[0]!.reason).toMatch(/"CERTIFICATE REQUEST" block: only CERTIFICATE blocks are accepted/);
    expect(() => validateBundle(csr)).toThrow(/block 1: is a "CERTIFICATE REQUEST" block, only CERTIFICATE is allowed/);
  });

  test("encodePem writes what @peculiar/x509 writes (the bundle's bytes and hash are unchanged)", () => {
    const der = new x509.X509Certificate(A).rawData;
    expect(encodePem(der, "CERTIFICATE")).toBe(x509.PemConverter.encode(der, "CERTIFICATE"));
    expect(encodePem(new Uint8Array(der), "CERTIFICATE") + "\n").toBe(A);
  });
});

describe("the one expiry rule: valid while now < notAfter", () => {
  test("isExpired", () => {
    const notAfter = new Date("2030-01-01T00:00:00Z");
    expect(isExpired(notAfter, new Date(notAfter.getTime() - 1))).toBe(false);
    expect(isExpired(notAfter, notAfter)).toBe(true);
    expect(isExpired(notAfter, new Date(notAfter.getTime() + 1))).toBe(true);
  });

  test("now == notAfter is expired on both sides; a millisecond before, valid on both", async () => {
    const notAfter = new Date(Math.ceil((Date.now() + HOUR) / 1000) * 1000);
    const cert = await selfSignedClient({ cn: "boundary", notAfter });
    expect(cert.certificate.notAfter.getTime()).toBe(notAfter.getTime());
    const before = new Date(notAfter.getTime() - 1);

    // Controller: the trust bundle leaves it out at notAfter.
    expect((await controllerBuild(cert.certPem, before)).included.map((i) => i.subject)).toContain("CN=boundary");
    const at = await controllerBuild(cert.certPem, notAfter);
    expect(at.included.map((i) => i.subject)).not.toContain("CN=boundary");
    expect(at.rejected).toMatchObject([{ code: "InvalidCertificate", reason: expect.stringMatching(/certificate "CN=boundary" expired at/) }]);

    // Agent: refused in a bundle, dropped from a bundle's valid part.
    expect(validateBundle(cert.certPem, "trust bundle", before)).toHaveLength(1);
    expect(() => validateBundle(cert.certPem, "trust bundle", notAfter)).toThrow(/certificate "CN=boundary" expired at/);
    const part = validBundlePart(ca.pem + cert.certPem, "trust bundle", notAfter);
    expect(part.dropped.map((d) => d.subject)).toEqual(["CN=boundary"]);
    expect(part.pem).toBe(ca.pem);
  });
});
