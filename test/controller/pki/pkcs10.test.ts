// controller/pki/pkcs10.ts: the DER walk reads what @peculiar/x509 reads from a CSR, and names
// the element where a malformed one goes wrong instead of throwing.
import { describe, expect, test } from "bun:test";
import { x509 } from "../../../common/x509.ts";
import { bytesOf, childrenOf, readTlv } from "../../../common/der/decode.ts";
import { parsePkcs10 } from "../../../controller/pki/pkcs10.ts";
import { makeCsr, pemOf, rsa, selfSignedLeaf } from "../../support/pki-fixtures.ts";

const derOf = (pem: string) => new Uint8Array(x509.PemConverter.decodeFirst(pem));

describe("PKCS#10 walk", () => {
  test("subject, key, signed bytes, signature and requested extensions, as @peculiar/x509 reads them", async () => {
    const { pem } = await makeCsr({
      subject: "CN=kb, OU=kb, O=system:masters, 1.2.3.4=x",
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]), new x509.BasicConstraintsExtension(true, undefined, true)],
    });
    const walk = parsePkcs10(derOf(pem));
    if (!walk.ok) throw new Error(walk.reason);
    const csr = new x509.Pkcs10CertificateRequest(pem);
    expect(walk.csr.subject).toEqual([{ type: "CN", value: "kb" }, { type: "OU", value: "kb" }, { type: "O", value: "system:masters" }, { type: "1.2.3.4", value: "x" }]);
    expect(walk.csr.key).toEqual({ kind: "EC", curve: "P-256" });
    expect(walk.csr.spki).toEqual(new Uint8Array(csr.publicKey.rawData));
    const der = derOf(pem);
    expect(walk.csr.info).toEqual(bytesOf(der, childrenOf(der, readTlv(der, 0)!)![0]!));
    expect(walk.csr.signatureAlgorithm.oid).toBe("1.2.840.10045.4.3.2");
    expect(walk.csr.extensions.map((e) => [e.oid, e.critical])).toEqual([["2.5.29.37", false], ["2.5.29.19", true]]);
    expect(walk.csr.extensions[0]!.value).toEqual(new Uint8Array(csr.extensions[0]!.value));
  });

  test("an RSA key's size is its modulus's bits; no extensionRequest is no extensions", async () => {
    const walk = parsePkcs10(derOf((await makeCsr({ keys: await rsa(1024) })).pem));
    if (!walk.ok) throw new Error(walk.reason);
    expect(walk.csr.key).toEqual({ kind: "RSA", bits: 1024 });
    expect(walk.csr.extensions).toEqual([]);
  });

  test("truncated, extended, and a certificate instead of a request: a reason each, no exception", async () => {
    const der = derOf((await makeCsr({})).pem);
    expect(parsePkcs10(der.subarray(0, der.length - 1))).toEqual({ ok: false, reason: "not one DER SEQUENCE" });
    expect(parsePkcs10(Uint8Array.from([...der, 0]))).toEqual({ ok: false, reason: "not one DER SEQUENCE" });
    expect(parsePkcs10(Uint8Array.of(0x30, 0x00))).toEqual({ ok: false, reason: "not a SEQUENCE of request info, signature algorithm and signature" });
    const certificate = new x509.X509Certificate(pemOf(await selfSignedLeaf({ cn: "x" })));
    // A certificate has a request's outer shape; its TBSCertificate starts with [0] version, not an INTEGER.
    expect(parsePkcs10(new Uint8Array(certificate.rawData))).toEqual({ ok: false, reason: "request info is not version, subject, public key, attributes" });
  });
});
