import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { createClientCa, type CertificateAuthority } from "../../../controller/pki/ca.ts";
import { buildTrustBundle, trustParseCache } from "../../../controller/trust/bundle.ts";
import { ParseCache } from "../../../controller/trust/pem-blocks.ts";
import { DAY, HOUR, pemOf, selfSignedLeaf } from "../../support/pki-fixtures.ts";
import { secret } from "../../support/malformed-pem.ts";

const NOW = new Date();
let ca: CertificateAuthority;
let longLived: string;
let shortLived: string;
let notYetValid: string;

beforeAll(async () => {
  ca = await createClientCa("cache");
  const [a, b, c] = await Promise.all([
    selfSignedLeaf({ cn: "long-lived", notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 30 * DAY) }),
    selfSignedLeaf({ cn: "short-lived", notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + HOUR) }),
    selfSignedLeaf({ cn: "starts-later", notBefore: new Date(NOW.getTime() + 2 * HOUR), notAfter: new Date(NOW.getTime() + 30 * DAY) }),
  ]);
  [longLived, shortLived, notYetValid] = [pemOf(a), pemOf(b), pemOf(c)];
});

afterEach(() => trustParseCache.clear());

const caSource = () => [{ label: "client CA (current)", pem: pemOf(ca.certificate) }];
const subjects = (r: { included: { subject: string }[] }) => r.included.map((i) => i.subject).sort();

describe("trust bundle parse cache", () => {
  test("a second build parses nothing again, yet drops a certificate that expired in between and admits one that became valid", async () => {
    trustParseCache.clear();
    const secrets = [secret("long", longLived), secret("short", shortLived), secret("later", notYetValid)];
    const first = await buildTrustBundle({ caCertificates: caSource(), secrets, now: NOW });
    expect(subjects(first)).toEqual(["CN=cache-es-client-ca, OU=cache", "CN=long-lived", "CN=short-lived"]);
    expect(first.rejected.map((r) => r.reason).join()).toContain("is not valid before");
    const parsedOnce = trustParseCache.stats();
    expect(parsedOnce.blockParses).toBe(4);
    expect(parsedOnce.misses).toBe(4);

    // Three hours later: short-lived has expired, starts-later has become valid.
    const later = new Date(NOW.getTime() + 3 * HOUR);
    const second = await buildTrustBundle({ caCertificates: caSource(), secrets, now: later });
    const warm = trustParseCache.stats();
    expect(warm.blockParses).toBe(parsedOnce.blockParses);
    expect(warm.hits).toBe(4);
    expect(subjects(second)).toEqual(["CN=cache-es-client-ca, OU=cache", "CN=long-lived", "CN=starts-later"]);
    const expired = second.rejected.find((r) => r.source === "Secret default/short tls.crt");
    expect(expired?.code).toBe("InvalidCertificate");
    expect(expired?.reason).toContain("expired at");
    expect(second.pem).not.toContain(shortLived.split("\n")[1]!);
  });

  test("a cached result equals an uncached one, and changed content is parsed afresh", async () => {
    const secrets = [secret("long", longLived), secret("short", shortLived)];
    const cold = await buildTrustBundle({ caCertificates: caSource(), secrets, now: NOW });
    const warm = await buildTrustBundle({ caCertificates: caSource(), secrets, now: NOW });
    expect(warm).toEqual(cold);
    const before = trustParseCache.stats().blockParses;
    // The same certificate under a comment is new content: one source parsed again.
    await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("long", "# rotated\n" + longLived), secrets[1]!], now: NOW });
    expect(trustParseCache.stats().blockParses).toBe(before + 1);
  });

  test("the cache is bounded by entries and by bytes, least recently used out first", () => {
    let parses = 0;
    const cache = new ParseCache((label) => ++parses && label, { maxEntries: 2, maxBytes: 1 << 20 });
    const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nAAAA${n}\n-----END CERTIFICATE-----\n`;
    const use = (n: number) => { const s = cache.get(pem(n)); return cache.block(s, s.blocks[0]!); };
    use(1); use(2); use(1); use(3); // 2 is the least recently used when 3 arrives
    expect(cache.stats()).toMatchObject({ entries: 2, evictions: 1, blockParses: 3 });
    use(1);
    expect(cache.stats().blockParses).toBe(3);
    use(2);
    expect(cache.stats().blockParses).toBe(4);

    const small = new ParseCache(() => 0, { maxEntries: 100, maxBytes: 2_000 });
    for (let n = 0; n < 20; n++) small.get(pem(n) + "x".repeat(300));
    expect(small.stats().bytes).toBeLessThanOrEqual(2_000);
    expect(small.stats().entries).toBeLessThan(20);
  });

  test("issue 21: forget drops a gone source's entry and its bytes; the same text later is parsed afresh, to the same result", () => {
    let parses = 0;
    const cache = new ParseCache((label) => ++parses && label);
    const pem = (n: number) => `-----BEGIN CERTIFICATE-----\nAAAA${n}\n-----END CERTIFICATE-----\n`;
    const use = (n: number) => { const s = cache.get(pem(n)); return cache.block(s, s.blocks[0]!); };
    use(1); use(2);
    const bytes = cache.stats().bytes;
    cache.forget(pem(1));
    cache.forget(pem(9)); // never seen: nothing happens
    expect(cache.stats()).toMatchObject({ entries: 1, evictions: 0 });
    expect(cache.stats().bytes).toBeLessThan(bytes);
    expect(use(1)).toBe("CERTIFICATE");
    expect(parses).toBe(3);
  });
});
