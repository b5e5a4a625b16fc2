// Issue 21: what the bundle's parse cache keeps per certificate. A scanned block's label must not
// keep the whole scanned text alive (on JSC a regex capture is a slice of its input), and a parsed
// certificate's PEM is its block's text when they are equal, so a cached source holds its
// certificate's text once. Measured with JSC's own count of memory held outside the GC heap
// (strings' characters) and by counting strings in a heap snapshot, after full collections.
import { describe, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import { scanPem, USER_SECRET_POLICY } from "../../../common/pem.ts";
import { buildTrustBundle, trustParseCache } from "../../../controller/trust/bundle.ts";
import { x509 } from "../../../common/x509.ts";

const MiB = 1024 * 1024;
const extraMiB = () => {
  Bun.gc(true);
  return heapStats().extraMemorySize / MiB;
};
/** Strings (flat or resolved ropes) in this process's heap (a heap snapshot after a full collection) of at least `text`'s length that start with it (a snapshot names a string by its first 1,024 characters). */
function stringsStartingWith(text: string): number {
  Bun.gc(true);
  const snap = JSON.parse(Bun.generateHeapSnapshot("v8")) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
  const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  const prefix = text.slice(0, 1024);
  let n = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (!types[snap.nodes[i + type]!]!.includes("string") || snap.nodes[i + size]! < text.length) continue;
    const s = snap.strings[snap.nodes[i + name]!]!;
    if (s.startsWith(prefix)) n++;
  }
  return n;
}

/** A flat string of `n` distinct-ish characters (no rope, no shared buffer). */
const filler = (n: number, seed: number) => Buffer.alloc(n, 97 + (seed % 26)).toString("latin1");

describe("issue 21: the PEM scan and the parse cache keep no copy of what they were given", () => {
  test("a block's label does not keep the scanned text alive: 100 labels of 200 KiB inputs hold well under 20 MiB", () => {
    const before = extraMiB();
    const labels: string[] = [];
    for (let i = 0; i < 100; i++) {
      // A large comment, then a block: the label is captured from a line of this 200 KiB text.
      const input = `${filler(200 * 1024, i)}\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`;
      const { blocks } = scanPem(input, USER_SECRET_POLICY);
      labels.push(blocks[0]!.label);
    }
    const held = extraMiB() - before;
    expect(labels.every((l) => l === "CERTIFICATE")).toBe(true);
    // 100 × 200 KiB = 19.5 MiB if each label kept its input.
    expect(held).toBeLessThan(5);
  });

  test("the parse cache holds each certificate's text once: 60 sources of one certificate leave 60 copies of its PEM in the heap, not 120", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "1000", name: "CN=parse-cache", notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } });
    const pem = cert.toString("pem");
    trustParseCache.clear();
    try {
      // 60 sources of distinct text (a comment line each): 60 cache entries, each scanned and parsed.
      for (let i = 0; i < 60; i++) {
        const bundle = await buildTrustBundle({ caCertificates: [{ label: "source", pem: `# source ${i}\n${pem}\n` }], secrets: [] });
        expect(bundle.pem).toBe(`${pem}\n`);
      }
      expect(trustParseCache.stats().entries).toBe(60);
      // Strings holding the PEM (the test's own, the last bundle's, garbage not yet swept, and
      // the cache's): before issue 21's change each entry held its block's text and its parse's
      // re-encoded PEM, ≥ 120 in all.
      expect(stringsStartingWith(pem)).toBeGreaterThanOrEqual(60);
      expect(stringsStartingWith(pem)).toBeLessThan(100);
    } finally {
      trustParseCache.clear();
    }
  });

  test("the bundle is unchanged: each certificate's PEM followed by a newline, a non-canonical block re-encoded at 64 columns", async () => {
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: "0a", name: "CN=canonical", notBefore: new Date(Date.now() - 3_600_000), notAfter: new Date(Date.now() + 86_400_000), keys, signingAlgorithm: { name: "ECDSA", hash: "SHA-256" } });
    const canonical = cert.toString("pem");
    const body = canonical.split("\n").slice(1, -1).join("");
    const wide = ["-----BEGIN CERTIFICATE-----", ...(body.match(/.{1,76}/g) ?? []), "-----END CERTIFICATE-----"].join("\n");
    expect(wide).not.toBe(canonical);
    for (const input of [`${canonical}\n`, `${wide}\n`, `# a comment\n${canonical}\n\n`]) {
      const bundle = await buildTrustBundle({ caCertificates: [{ label: "source", pem: input }], secrets: [] });
      expect(bundle.pem).toBe(`${canonical}\n`);
    }
  });
});
