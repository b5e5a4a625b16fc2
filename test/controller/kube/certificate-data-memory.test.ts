// Issue 21, third pass: the labelled Secrets' tls.crt was kept twice, as base64 by
// CertificateDataReader and as its blocks' text by the bundle's parse cache (6.8 KB per cluster at
// 1,000 clusters). The reader now keeps the parse cache's scan itself: one copy of the text.
// Wired as reconcile/trust-bundle.ts wires it; memory by JSC's count of strings' characters.
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import type { V1Secret } from "@kubernetes/client-node";
import { CertificateDataReader } from "../../../controller/kube/secret-reader.ts";
import { buildTrustBundle, trustParseCache } from "../../../controller/trust/bundle.ts";
import { TestCA } from "../../support/test-ca.ts";

const MiB = 1024 * 1024;
const extraMiB = () => {
  Bun.gc(true);
  return heapStats().extraMemorySize / MiB;
};
const SOURCES = 100;
/** One PEM block of ~32 KiB (not a certificate: the scan keeps its text, the parse a reason), distinct per seed. */
const bigPem = (seed: number) => {
  const line = String.fromCharCode(65 + (seed % 26)).repeat(64);
  return ["-----BEGIN CERTIFICATE-----", `${String(seed).padStart(8, "0")}${line.slice(8)}`, ...Array.from({ length: 511 }, () => line), "-----END CERTIFICATE-----", ""].join("\n");
};
const meta = (name: string, rv: string): V1Secret => ({ metadata: { name, namespace: "ns", resourceVersion: rv } });
const reader = () =>
  new CertificateDataReader(64 * 1024, {
    keep: (text) => trustParseCache.get(text),
    holds: (scan) => trustParseCache.holds(scan),
    drop: (scan) => trustParseCache.drop(scan),
  });
/** The apiserver's answer, made on each read: nothing but the reader keeps it. */
const readSecret = async (namespace: string, name: string): Promise<V1Secret> => ({ metadata: { name, namespace, resourceVersion: "1" }, data: { "tls.crt": btoa(bigPem(Number(name.slice(1)))) } });

describe("a labelled Secret's tls.crt is kept once, as the parse cache's scan", () => {
  beforeEach(() => trustParseCache.clear());
  afterEach(() => trustParseCache.clear());

  test("100 sources of 32 KiB, read and built into a bundle, hold about their text once (3.2 MiB), not their base64 as well (+4.3 MiB)", async () => {
    const ca = await TestCA.create("ca");
    const r = reader();
    const textMiB = (SOURCES * bigPem(0).length) / MiB;
    const before = extraMiB();
    const loaded: V1Secret[] = [];
    for (let i = 0; i < SOURCES; i++) loaded.push((await r.read(meta(`s${i}`, "1"), readSecret))!);
    let bundle = await buildTrustBundle({ caCertificates: [{ label: "client CA", pem: ca.pem }], secrets: loaded });
    expect(bundle.rejected.filter((x) => x.code === "InvalidCertificate")).toHaveLength(SOURCES);
    loaded.length = 0;
    bundle = undefined!;
    const held = extraMiB() - before;
    expect(r.size).toBe(SOURCES);
    expect(trustParseCache.stats().entries).toBe(SOURCES + 1); // and the CA
    expect(held).toBeGreaterThan(textMiB * 0.8);
    // Base64 next to the text: 2.3 × the text.
    expect(held).toBeLessThan(textMiB * 1.3);
  });

  test("a warm build parses nothing and reads nothing; a cleared cache reads again and builds the same; a forgotten Secret's scan leaves the cache", async () => {
    const ca = await TestCA.create("ca");
    const r = reader();
    const build = async () => {
      const loaded = await Promise.all([0, 1, 2].map((i) => r.read(meta(`s${i}`, "1"), readSecret)));
      return buildTrustBundle({ caCertificates: [{ label: "client CA", pem: ca.pem }], secrets: loaded.map((s) => s!) });
    };
    const first = await build();
    expect(r.reads).toBe(3);
    const parses = trustParseCache.stats().blockParses;
    const warm = await build();
    expect(warm.rejected).toEqual(first.rejected);
    expect(trustParseCache.stats().blockParses).toBe(parses);
    expect(r.reads).toBe(3);
    trustParseCache.clear();
    const cold = await build();
    expect(cold.rejected).toEqual(first.rejected);
    expect(r.reads).toBe(6);
    expect(trustParseCache.stats().entries).toBe(4); // the CA and 3 sources
    r.forget("ns", "s1");
    expect(trustParseCache.stats().entries).toBe(3);
  });
});
