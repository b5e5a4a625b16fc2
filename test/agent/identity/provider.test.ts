// agent/identity/provider.ts on fakes: the managed identity's CSR signed by a test CA and checked
// (subject, clientAuth, the key) and the self-signed identity made and kept, with the certificates
// read by the agent's own reader (issue 21: no @peculiar/x509 in the agent).
import { describe, expect, test } from "bun:test";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { ControllerIdentity } from "../../../agent/identity/provider.ts";
import { setLogLevel } from "../../../agent/log.ts";
import { PemError } from "../../../agent/material/pem.ts";
import { Metrics } from "../../../agent/report/metrics.ts";
import { x509 } from "../../../common/x509.ts";
import type { Intent, ManagedIdentity } from "../../../protocol/intent.ts";
import { TestCA, issueCertificate, type IssueOptions } from "../../support/test-ca.ts";

setLogLevel("error");
const ca = await TestCA.create("provider ca");

/** A controller that signs the CSR's key with `o` (the requested subject unless `o` says otherwise). */
function controller(o: Partial<IssueOptions> = {}) {
  return {
    async postJson<T>(_path: string, body: unknown): Promise<T> {
      const csr = new x509.Pkcs10CertificateRequest((body as { csr: string }).csr);
      expect(await csr.verify()).toBe(true);
      const publicKey = await csr.publicKey.export();
      const leaf = await issueCertificate(ca, { cn: csr.subjectName.getField("CN")[0], ou: csr.subjectName.getField("OU")[0], publicKey, ...o });
      return { certificate: leaf.certPem } as T;
    },
  };
}

const SUBJECT = { commonName: "es-0", organizationalUnit: "qs" };
// The provider reads an intent's generation and identity only.
const intentWith = (identity: Intent["identity"]) => ({ generation: 1, identity }) as Intent;
const identityOf = (i: Partial<ManagedIdentity>): Intent =>
  intentWith({ source: "managed", subject: SUBJECT, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3, ...i });
const provider = (c: ReturnType<typeof controller>) => new ControllerIdentity(c, new Metrics(), { requestTimeoutMs: 1000, local: (p) => p });

describe.each(["ECDSA-P256", "RSA-2048"] as const)("%s managed identity", (keyAlgorithm) => {
  test("the controller's certificate for the CSR's key is taken, re-encoded as PEM, and kept while fresh", async () => {
    const p = provider(controller());
    const id = (await p.resolve(identityOf({ keyAlgorithm }), undefined))!;
    expect(id.leaf.subject).toBe("CN=es-0, OU=qs");
    expect(id.certPem).toMatch(/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+\n-----END CERTIFICATE-----\n$/);
    expect(new X509Certificate(id.certPem).checkPrivateKey(createPrivateKey(id.keyPem))).toBe(true);
    expect(id.renewAt!.getTime()).toBeGreaterThan(Date.now());
    expect(await p.resolve(identityOf({ keyAlgorithm }), id)).toBe(id);
  });
});

describe("managed identity refusals", () => {
  test("a certificate for another subject is refused", async () => {
    const p = provider(controller({ cn: "someone-else" }));
    await expect(p.resolve(identityOf({}), undefined)).rejects.toThrow(/subject "CN=someone-else, OU=qs" is not the requested one/);
  });
  test("a certificate without clientAuth is refused", async () => {
    const p = provider(controller({ server: true }));
    await expect(p.resolve(identityOf({}), undefined)).rejects.toBeInstanceOf(PemError);
    await expect(p.resolve(identityOf({}), undefined)).rejects.toThrow(/extended key usage lacks clientAuth/);
  });
});

describe.each(["ECDSA-P256", "RSA-2048"] as const)("%s self-signed identity", (keyAlgorithm) => {
  test("made for the subject, its own issuer, renewed at 2/3 of its life, kept meanwhile", async () => {
    const p = provider(controller());
    const intent = intentWith({ source: "selfSigned", subject: SUBJECT, keyAlgorithm, validitySeconds: 3000 });
    const id = (await p.resolve(intent, undefined))!;
    expect(id.leaf.subject).toBe("CN=es-0, OU=qs");
    expect(id.leaf.selfIssued).toBe(true);
    expect(new X509Certificate(id.certPem).verify(new X509Certificate(id.certPem).publicKey)).toBe(true);
    expect(id.renewAt!.getTime() - id.leaf.notBefore.getTime()).toBe(((id.leaf.notAfter.getTime() - id.leaf.notBefore.getTime()) * 2) / 3);
    expect(await p.resolve(intent, id)).toBe(id);
  });
});
