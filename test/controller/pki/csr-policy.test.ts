import { describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { checkCsr, MAX_CSR_PEM_BYTES } from "../../../controller/pki/csr-policy.ts";
import type { ManagedIdentity } from "../../../protocol/intent.ts";
import { makeCsr, p256, rsa } from "../../support/pki-fixtures.ts";

const identity: ManagedIdentity = {
  source: "managed",
  subject: { commonName: "kb", organizationalUnit: "kb" },
  keyAlgorithm: "ECDSA-P256",
  validitySeconds: 86400,
  renewAtFraction: 0.66,
};
const rsaIdentity: ManagedIdentity = { ...identity, keyAlgorithm: "RSA-2048" };

async function refusal(pem: string, id: ManagedIdentity = identity): Promise<string> {
  const result = await checkCsr(pem, id);
  if (result.ok) throw new Error("CSR was accepted");
  return result.reason;
}

describe("CSR policy", () => {
  test("accepts a matching P-256 CSR with a clientAuth-only EKU request", async () => {
    const { pem } = await makeCsr({ extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])] });
    const result = await checkCsr(pem, identity);
    expect(result.ok).toBe(true);
  });

  test("accepts RSA-2048 and RSA-3072 when the intent asks for RSA", async () => {
    expect((await checkCsr((await makeCsr({ keys: await rsa(2048) })).pem, rsaIdentity)).ok).toBe(true);
    expect((await checkCsr((await makeCsr({ keys: await rsa(3072) })).pem, rsaIdentity)).ok).toBe(true);
  });

  test("wrong CN", async () => {
    expect(await refusal((await makeCsr({ subject: "CN=admin, OU=kb" })).pem)).toMatch(/CN is \["admin"\], want exactly "kb"/);
  });

  test("wrong or missing OU, extra subject attributes", async () => {
    expect(await refusal((await makeCsr({ subject: "CN=kb" })).pem)).toMatch(/OU is \[\], want exactly "kb"/);
    expect(await refusal((await makeCsr({ subject: "CN=kb, OU=kb, O=system:masters" })).pem)).toMatch(/attributes other than CN and OU: O/);
    expect(await refusal((await makeCsr({ subject: "CN=kb, CN=kb2, OU=kb" })).pem)).toMatch(/CN is \["kb","kb2"\]/);
  });

  test("BasicConstraints CA:TRUE", async () => {
    const { pem } = await makeCsr({ extensions: [new x509.BasicConstraintsExtension(true, undefined, true)] });
    expect(await refusal(pem)).toMatch(/BasicConstraints CA:TRUE/);
  });

  test("serverAuth-only and mixed EKU", async () => {
    const serverOnly = await makeCsr({ extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth])] });
    expect(await refusal(serverOnly.pem)).toMatch(/extended key usages serverAuth; only clientAuth is allowed/);
    const mixed = await makeCsr({ extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth, x509.ExtendedKeyUsage.serverAuth])] });
    expect(await refusal(mixed.pem)).toMatch(/clientAuth, serverAuth; only clientAuth/);
  });

  test("subject alternative names", async () => {
    const { pem } = await makeCsr({ extensions: [new x509.SubjectAlternativeNameExtension([{ type: "dns", value: "evil.example" }])] });
    expect(await refusal(pem)).toMatch(/subject alternative names/);
  });

  test("weak key RSA-1024", async () => {
    expect(await refusal((await makeCsr({ keys: await rsa(1024) })).pem, rsaIdentity)).toMatch(/RSA-1024, weaker than the required RSA-2048/);
  });

  test("P-384 when P-256 is expected, RSA when ECDSA is expected, ECDSA when RSA is expected", async () => {
    const p384 = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"]);
    expect(await refusal((await makeCsr({ keys: p384 })).pem)).toMatch(/EC P-384, the intent requires ECDSA P-256/);
    expect(await refusal((await makeCsr({ keys: await rsa(2048) })).pem)).toMatch(/RSA-2048, the intent requires ECDSA P-256/);
    expect(await refusal((await makeCsr({ keys: await p256() })).pem, rsaIdentity)).toMatch(/EC P-256, the intent requires RSA/);
  });

  test("bad signature", async () => {
    const { pem } = await makeCsr({});
    const der = new Uint8Array(x509.PemConverter.decodeFirst(pem));
    der[der.length - 5]! ^= 0xff; // inside the signature BIT STRING
    const tampered = x509.PemConverter.encode(der.buffer, "CERTIFICATE REQUEST");
    expect(await refusal(tampered)).toMatch(/signature does not verify/);
  });

  test("not a CSR: garbage, a certificate, two CSRs, oversized", async () => {
    expect(await refusal("hello")).toMatch(/exactly one "CERTIFICATE REQUEST" PEM block, found none/);
    const { pem } = await makeCsr({});
    expect(await refusal(pem.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE"))).toMatch(/found "CERTIFICATE"/);
    expect(await refusal(pem + "\n" + pem)).toMatch(/found "CERTIFICATE REQUEST", "CERTIFICATE REQUEST"/);
    expect(await refusal("x".repeat(MAX_CSR_PEM_BYTES + 1))).toMatch(/more than 16384/);
  });
});

describe("forged and malformed requests (issue 21: read with a DER walk, refused as before)", () => {
  test("another key's public key in a signed request: the signature does not verify", async () => {
    const { pem } = await makeCsr({});
    const other = new x509.Pkcs10CertificateRequest((await makeCsr({})).pem);
    const der = new Uint8Array(x509.PemConverter.decodeFirst(pem));
    const mine = new Uint8Array(new x509.Pkcs10CertificateRequest(pem).publicKey.rawData);
    const at = Buffer.from(der).indexOf(Buffer.from(mine));
    der.set(new Uint8Array(other.publicKey.rawData), at);
    expect(await refusal(x509.PemConverter.encode(der.buffer, "CERTIFICATE REQUEST"))).toMatch(/signature does not verify/);
  });

  test("truncated DER in a well-framed block: does not parse as PKCS#10", async () => {
    const der = new Uint8Array(x509.PemConverter.decodeFirst((await makeCsr({})).pem));
    expect(await refusal(x509.PemConverter.encode(der.slice(0, 40).buffer, "CERTIFICATE REQUEST"))).toMatch(/^CSR does not parse as PKCS#10: /);
  });
});
