// Issue 13 item 4: text outside PEM blocks (a comment line, `openssl x509 -text` output)
// is not a certificate left out. Elasticsearch ignores it too, so it is no rejection:
// only what really stays out of the bundle is reported as rejected.
import { beforeAll, describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { createClientCa, type CertificateAuthority } from "../../../controller/pki/ca.ts";
import { buildTrustBundle } from "../../../controller/trust/bundle.ts";
import { scanPemBlocks } from "../../../controller/trust/pem-blocks.ts";
import { pemOf, selfSignedLeaf } from "../../support/pki-fixtures.ts";
import { secret } from "../../support/malformed-pem.ts";

let ca: CertificateAuthority;
let leaf: x509.X509Certificate;
beforeAll(async () => {
  ca = await createClientCa("quickstart");
  leaf = await selfSignedLeaf({ cn: "commented" });
});
const caSource = () => [{ label: "client CA (current)", pem: pemOf(ca.certificate) }];

describe("text outside PEM blocks", () => {
  test("a comment before a valid certificate is no rejection: the certificate is trusted and nothing is reported as left out", async () => {
    const text = `# issued by the platform team\nsubject=CN=commented\n${pemOf(leaf)}trailing note\n`;
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("commented", text)] });
    expect(result.included.map((i) => i.subject)).toContain("CN=commented");
    expect(result.rejected).toEqual([]);
    // Still said, as information, where it was.
    expect(result.ignoredText).toEqual([
      { source: "Secret default/commented tls.crt", line: 1, reason: "non-PEM text outside any block (lines 1-2), ignored" },
      { source: "Secret default/commented tls.crt", line: expect.any(Number), reason: expect.stringMatching(/^non-PEM text outside any block \(lines \d+-\d+\), ignored$/) },
    ]);
  });

  test("a source with only non-PEM text is still a rejection: nothing of it reaches the bundle", async () => {
    const result = await buildTrustBundle({ caCertificates: caSource(), secrets: [secret("junk", "hello world\nthis is not pem\n")] });
    expect(result.rejected).toHaveLength(1);
    expect(result.rejected[0]).toMatchObject({ source: "Secret default/junk tls.crt", block: null, reason: "contains no PEM block: non-PEM text outside any block (lines 1-2)" });
    expect(result.ignoredText).toEqual([]);
  });

  test("the scanner tells stray text apart from broken blocks", () => {
    const { blocks, problems, strayText } = scanPemBlocks(`note\n${pemOf(leaf)}`);
    expect(blocks).toHaveLength(1);
    expect(problems).toEqual([]);
    expect(strayText).toEqual([{ line: 1, reason: "non-PEM text outside any block (lines 1-1)" }]);
  });
});
