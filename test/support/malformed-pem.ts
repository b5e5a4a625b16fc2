// Malformed client-certificate inputs (Secret data), each with the reason the
// trust-bundle pipeline must give. Shared by the unit test of the pipeline and
// the integration test of the running controller.
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../../common/x509.ts";
import { privateKeyToPem } from "../../controller/pki/keys.ts";
import { DAY, makeCsr, p256, pemOf, rsa, selfSignedLeaf } from "./pki-fixtures.ts";

export function secret(name: string, tlsCrt: string | undefined, namespace = "default", rawData?: Record<string, string>): V1Secret {
  return { metadata: { name, namespace }, data: rawData ?? (tlsCrt === undefined ? {} : { "tls.crt": btoa(tlsCrt) }) };
}

export function body(pem: string): string {
  return pem.trim().split("\n").slice(1, -1).join("\n");
}

function block(label: string, b64: string): string {
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

export interface MalformedFixtures {
  goodA: x509.X509Certificate;
  goodB: x509.X509Certificate;
  goodC: x509.X509Certificate;
  goodD: x509.X509Certificate;
  pkcs8: string;
}

export interface MalformedCase {
  name: string;
  secret: V1Secret;
  reason: RegExp;
}

export async function malformedCases(now = new Date()): Promise<{ cases: MalformedCase[]; fixtures: MalformedFixtures }> {
  const [goodA, goodB, goodC, goodD, caInChain] = await Promise.all([
    selfSignedLeaf({ cn: "good-a" }),
    selfSignedLeaf({ cn: "good-b" }),
    selfSignedLeaf({ cn: "good-c" }),
    selfSignedLeaf({ cn: "good-d" }),
    selfSignedLeaf({ cn: "some-issuing-ca", ca: true }),
  ]);
  const expired = await selfSignedLeaf({ cn: "expired", notBefore: new Date(now.getTime() - 10 * DAY), notAfter: new Date(now.getTime() - DAY) });
  const notYetValid = await selfSignedLeaf({ cn: "future", notBefore: new Date(now.getTime() + DAY), notAfter: new Date(now.getTime() + 10 * DAY) });
  const pkcs8 = await privateKeyToPem((await p256()).privateKey);
  const csrPem = (await makeCsr({})).pem;
    const A = pemOf(goodA);
  const derA = new Uint8Array(goodA.rawData);
  const b64A = body(A);
  const rsaKey = await crypto.subtle.exportKey("pkcs8", (await rsa(2048)).privateKey);
  const cases: MalformedCase[] = [
    { name: "pkcs8 private key", secret: secret("bad-01", pkcs8), reason: /"PRIVATE KEY" block: private key material/ },
    { name: "RSA PRIVATE KEY", secret: secret("bad-02", block("RSA PRIVATE KEY", body(x509.PemConverter.encode(rsaKey, "X")))), reason: /"RSA PRIVATE KEY" block: private key material/ },
    { name: "EC PRIVATE KEY", secret: secret("bad-03", block("EC PRIVATE KEY", "MHcCAQEEIA==")), reason: /"EC PRIVATE KEY" block: private key/ },
    { name: "ENCRYPTED PRIVATE KEY", secret: secret("bad-04", block("ENCRYPTED PRIVATE KEY", "MIIB")), reason: /"ENCRYPTED PRIVATE KEY" block: private key/ },
    { name: "garbage text", secret: secret("bad-05", "hello world\nthis is not pem\n"), reason: /non-PEM text outside any block \(lines 1-2\)/ },
    { name: "empty tls.crt", secret: secret("bad-06", ""), reason: /contains no PEM block/ },
    { name: "whitespace only", secret: secret("bad-07", "\n  \n\t\n"), reason: /contains no PEM block/ },
    { name: "no tls.crt key", secret: secret("bad-08", undefined), reason: /no tls.crt key in the Secret/ },
    { name: "data not base64", secret: secret("bad-09", undefined, "default", { "tls.crt": "%%%not-base64%%%" }), reason: /tls.crt is not valid base64/ },
    { name: "BEGIN without END", secret: secret("bad-10", `-----BEGIN CERTIFICATE-----\n${b64A}\n`), reason: /truncated: no END line/ },
    { name: "END label mismatch", secret: secret("bad-11", `-----BEGIN CERTIFICATE-----\n${b64A}\n-----END X509 CRL-----\n`), reason: /ends with END "X509 CRL"/ },
    { name: "invalid base64 characters", secret: secret("bad-12", block("CERTIFICATE", "MIIB!!!!$$$$")), reason: /body is not valid base64/ },
    { name: "base64 cut mid-quantum", secret: secret("bad-13", block("CERTIFICATE", b64A.replace(/\n/g, "").slice(0, -3))), reason: /not valid base64|truncated or trailing/ },
    { name: "base64 cut in half", secret: secret("bad-14", block("CERTIFICATE", b64A.replace(/\n/g, "").slice(0, 200))), reason: /truncated or trailing data/ },
    { name: "trailing bytes after DER", secret: secret("bad-15", x509.PemConverter.encode(new Uint8Array([...derA, 0, 0, 0, 0]).buffer, "CERTIFICATE")), reason: /truncated or trailing data/ },
    { name: "empty CERTIFICATE block", secret: secret("bad-16", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), reason: /CERTIFICATE block is empty/ },
    { name: "PEM headers", secret: secret("bad-17", `-----BEGIN CERTIFICATE-----\nProc-Type: 4,ENCRYPTED\n\n${b64A}\n-----END CERTIFICATE-----\n`), reason: /PEM headers \(Proc-Type\)/ },
    { name: "TRUSTED CERTIFICATE", secret: secret("bad-18", block("TRUSTED CERTIFICATE", b64A)), reason: /"TRUSTED CERTIFICATE" block: only CERTIFICATE/ },
    { name: "CSR", secret: secret("bad-19", csrPem), reason: /"CERTIFICATE REQUEST" block: only CERTIFICATE/ },
    { name: "PUBLIC KEY", secret: secret("bad-20", x509.PemConverter.encode(goodA.publicKey.rawData, "PUBLIC KEY")), reason: /"PUBLIC KEY" block: only CERTIFICATE/ },
    { name: "X509 CRL", secret: secret("bad-21", block("X509 CRL", "MAA=")), reason: /"X509 CRL" block: only CERTIFICATE/ },
    { name: "DER not a SEQUENCE", secret: secret("bad-22", block("CERTIFICATE", btoa("hello, not DER"))), reason: /does not hold a DER SEQUENCE/ },
    { name: "CSR DER under CERTIFICATE label", secret: secret("bad-23", csrPem.replace(/CERTIFICATE REQUEST/g, "CERTIFICATE")), reason: /not a parseable X.509 certificate/ },
    { name: "expired", secret: secret("bad-24", pemOf(expired)), reason: /certificate "CN=expired" expired at/ },
    { name: "not yet valid", secret: secret("bad-25", pemOf(notYetValid)), reason: /certificate "CN=future" is not valid before/ },
    { name: "raw DER without armour", secret: secret("bad-26", undefined, "default", { "tls.crt": btoa(String.fromCharCode(...derA)) }), reason: /non-PEM text/ },
    { name: "base64 without armour", secret: secret("bad-27", b64A.replace(/\n/g, "")), reason: /non-PEM text/ },
    { name: "NUL and binary junk", secret: secret("bad-28", "\u0000\u0001\u0002\u00ff\u00fe"), reason: /non-PEM text/ },
    { name: "PKCS7 block", secret: secret("bad-29", block("PKCS7", "MAA=")), reason: /"PKCS7" block: only CERTIFICATE/ },
    { name: "issuing CA after the leaf", secret: secret("bad-30", pemOf(goodB) + pemOf(caInChain)), reason: /CA certificate in the chain after the leaf is not pinned/ },
    { name: "oversized tls.crt", secret: secret("bad-31", A.repeat(200)), reason: /source is \d+(\.\d)? KiB, over the 64 KiB limit per source/ },
    { name: "too many blocks", secret: secret("bad-32", pemOf(goodC).repeat(17)), reason: /over the limit of 16 PEM blocks per source/ },
    { name: "YAML instead of PEM", secret: secret("bad-33", "tls.crt: |\n  abc\n"), reason: /non-PEM text/ },
    { name: "lower-case label", secret: secret("bad-34", block("certificate", b64A)), reason: /"certificate" block: only CERTIFICATE/ },
    { name: "BEGIN inside a block", secret: secret("bad-35", `-----BEGIN CERTIFICATE-----\n${b64A.slice(0, 64)}\n${A}`), reason: /truncated: no END line before the next BEGIN/ },
    { name: "cert followed by its key", secret: secret("bad-36", pemOf(goodD) + pkcs8), reason: /private key material/ },
  ];
  return { cases, fixtures: { goodA, goodB, goodC, goodD, pkcs8 } };
}
