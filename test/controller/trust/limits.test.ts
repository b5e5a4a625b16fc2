// Issue 13 item 6: the trust bundle's limits are exported from one place and every
// refusal they cause names the limit and its value, so a user can act on it.
import { beforeAll, describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { createClientCa, type CertificateAuthority } from "../../../controller/pki/ca.ts";
import { buildTrustBundle, DEFAULT_BUNDLE_LIMITS } from "../../../controller/trust/bundle.ts";
import { TRUST_BUNDLE_LIMITS, formatSize } from "../../../controller/trust/limits.ts";
import { pemOf, selfSignedLeaf } from "../../support/pki-fixtures.ts";
import { secret } from "../../support/malformed-pem.ts";

let ca: CertificateAuthority;
let leaf: x509.X509Certificate;
beforeAll(async () => {
  ca = await createClientCa("quickstart");
  leaf = await selfSignedLeaf({ cn: "limits" });
});
const caSource = () => [{ label: "client CA (current)", pem: pemOf(ca.certificate) }];

describe("trust bundle limits", () => {
  test("are defined once, with the documented values", () => {
    expect(TRUST_BUNDLE_LIMITS).toEqual({ maxSourceBytes: 64 * 1024, maxBlocksPerSource: 16, maxBundleBytes: 900 * 1024 });
    expect(DEFAULT_BUNDLE_LIMITS).toEqual(TRUST_BUNDLE_LIMITS);
    expect(formatSize(64 * 1024)).toBe("64 KiB");
    expect(formatSize(70 * 1024 + 300)).toBe("70.3 KiB");
    expect(formatSize(900)).toBe("900 bytes");
  });

  test("an oversized source says how big it is and the per-source limit", async () => {
    const text = pemOf(leaf).repeat(Math.ceil((70 * 1024) / pemOf(leaf).length));
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("big", text)] });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.code).toBe("SourceTooLarge");
    expect(result.rejected[0]!.reason).toMatch(/^source is 7\d(\.\d)? KiB, over the 64 KiB limit per source$/);
  });

  test("the 17th block says it is over the limit of 16 PEM blocks per source", async () => {
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("many", pemOf(leaf).repeat(17))] });
    const over = result.rejected.filter((r) => r.code === "TooManyBlocks");
    expect(over.map((r) => r.block)).toEqual([17]);
    expect(over[0]!.reason).toMatch(/^block 17 is over the limit of 16 PEM blocks per source \(line \d+\)$/);
  });

  test("a source that does not fit says the bundle limit and its value", async () => {
    const leafBytes = x509.PemConverter.encode(leaf.rawData, "CERTIFICATE").length + 1;
    const caBytes = x509.PemConverter.encode(ca.certificate.rawData, "CERTIFICATE").length + 1;
    const limit = caBytes + leafBytes - 1;
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("late", pemOf(leaf))], limits: { maxBundleBytes: limit } });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]!.code).toBe("BundleLimitReached");
    expect(result.rejected[0]!.reason).toBe(`bundle limit reached: adding its 1 certificate(s) (${formatSize(leafBytes)}) would make the bundle ${formatSize(caBytes + leafBytes)}, over the ${formatSize(limit)} bundle limit`);
  });
});
