// agent/material/pem.ts BundleMemo (issue 21): a bundle's certificates that were in the last bundle
// validated are not parsed again, and the result is the same as without the memo: the same entries,
// the same expired ones dropped (expiry is judged at every call), the same refusals.
import { afterAll, afterEach, describe, expect, spyOn, test } from "bun:test";
import * as certificate from "../../../agent/material/certificate.ts";
import { BundleMemo, PemError, validBundlePart } from "../../../agent/material/pem.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";

describe("BundleMemo", async () => {
  const ca = await TestCA.create("memo ca");
  const a = (await issueCertificate(ca, { cn: "a" })).certPem;
  const b = (await issueCertificate(ca, { cn: "b" })).certPem;
  const c = (await issueCertificate(ca, { cn: "c" })).certPem;
  const soon = new Date(Date.now() + 3_600_000);
  const short = (await issueCertificate(ca, { cn: "short", notAfter: soon })).certPem;
  const parses = spyOn(certificate, "readCertificate");
  afterEach(() => parses.mockClear());
  afterAll(() => parses.mockRestore()); // test files share one process

  test("a bundle with one new certificate parses only that one, and says what the memo-less check says", () => {
    const memo = new BundleMemo();
    validBundlePart(ca.pem + a + b, "trust bundle", new Date(), memo);
    expect(parses).toHaveBeenCalledTimes(3);
    parses.mockClear();

    const next = ca.pem + a + b + c;
    const got = validBundlePart(next, "trust bundle", new Date(), memo);
    expect(parses).toHaveBeenCalledTimes(1);
    expect(got).toEqual(validBundlePart(next, "trust bundle", new Date()));
    expect(got.certs.map((x) => x.subject)).toEqual(["CN=memo ca", "CN=a", "CN=b", "CN=c"]);
    expect(memo.size).toBe(4);
  });

  test("the memo holds the last bundle only: a certificate that left it is parsed again when it returns", () => {
    const memo = new BundleMemo();
    validBundlePart(ca.pem + a, "trust bundle", new Date(), memo);
    validBundlePart(ca.pem + b, "trust bundle", new Date(), memo);
    expect(memo.size).toBe(2);
    parses.mockClear();
    validBundlePart(ca.pem + a, "trust bundle", new Date(), memo);
    expect(parses).toHaveBeenCalledTimes(1);
  });

  test("expiry is judged at each call: a remembered certificate past its NotAfter is dropped as without the memo", () => {
    const memo = new BundleMemo();
    const text = ca.pem + short + a;
    expect(validBundlePart(text, "trust bundle", new Date(), memo).dropped).toEqual([]);
    const later = new Date(soon.getTime() + 60_000);
    parses.mockClear();
    const got = validBundlePart(text, "trust bundle", later, memo);
    expect(parses).toHaveBeenCalledTimes(0);
    expect(got).toEqual(validBundlePart(text, "trust bundle", later));
    expect(got.dropped).toEqual([{ block: 2, subject: "CN=short", notAfter: new Date(Math.floor(soon.getTime() / 1000) * 1000) }]);
    expect(got.pem).not.toContain(short.split("\n")[1]);
  });

  test("a refused bundle is refused as without the memo and leaves the memo as it was", () => {
    const memo = new BundleMemo();
    validBundlePart(ca.pem + a, "trust bundle", new Date(), memo);
    const key = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIBqGc0b0vP8ZQ0jQ0bqGc0b0vP8ZQ0jQ0bqGc0b0vP8Z\n-----END PRIVATE KEY-----\n";
    for (const bad of [ca.pem + a + key, ca.pem + a + "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", ca.pem + a + "junk"]) {
      let withMemo: unknown, without: unknown;
      try {
        validBundlePart(bad, "trust bundle", new Date(), memo);
      } catch (e) {
        withMemo = e;
      }
      try {
        validBundlePart(bad, "trust bundle", new Date());
      } catch (e) {
        without = e;
      }
      expect(withMemo).toBeInstanceOf(PemError);
      expect((withMemo as Error).message).toBe((without as Error).message);
    }
    expect(memo.size).toBe(2);
    parses.mockClear();
    validBundlePart(ca.pem + a, "trust bundle", new Date(), memo);
    expect(parses).toHaveBeenCalledTimes(0);
  });
});
