// Issue 13 item 5: thousands of labelled Secrets past the bundle limit (or with an unverifiable
// owner) must not make thousands of Events on the Elasticsearch: one per cause, with a count,
// and the status condition says how many of each were left out.
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../../../common/x509.ts";
import { TRUST_BUNDLE_LIMITS } from "../../../controller/trust/limits.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

/** A self-signed client leaf made large (~`sanCount` × 30 bytes) by DNS SANs, so few Secrets fill the bundle. */
async function bigLeaf(cn: string, sanCount: number): Promise<string> {
  const keys = (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: crypto.getRandomValues(new Uint8Array(8)).reduce((s, b) => s + b.toString(16).padStart(2, "0"), "01"),
    name: `CN=${cn}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(Array.from({ length: sanCount }, (_, i) => ({ type: "dns" as const, value: `host-${i}.${cn}.example.internal` }))),
    ],
  });
  return cert.toString("pem") + "\n";
}

function labelledSecret(name: string, certPem: string, ownerUid: string): V1Secret {
  return {
    metadata: {
      name,
      namespace: NS,
      uid: `uid-${name}`,
      labels: clientCertLabels(ES_NAME, NS),
      ownerReferences: [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: ES_NAME, uid: ownerUid }],
    },
    data: { "tls.crt": btoa(certPem) },
  };
}

describe("Events are aggregated per cause on the Elasticsearch", () => {
  test("60 Secrets past the bundle limit and 25 with a wrong owner UID: a handful of Events on the Elasticsearch, counts in the status", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const pem = await bigLeaf("sizer", 1000);
    const perSecret = pem.length;
    const fit = Math.floor(TRUST_BUNDLE_LIMITS.maxBundleBytes / perSecret);
    expect(perSecret).toBeLessThan(TRUST_BUNDLE_LIMITS.maxSourceBytes);
    const total = fit + 60;
    for (let i = 0; i < total; i++) h.caches.clientCertSecrets.put(labelledSecret(`client-${String(i).padStart(3, "0")}`, await bigLeaf(`client-${i}`, 1000), "es-uid"));
    for (let i = 0; i < 25; i++) h.caches.clientCertSecrets.put(labelledSecret(`spoofed-${i}`, await bigLeaf(`spoofed-${i}`, 4), "not-the-es-uid"));

    await h.reconcile();

    const onEs = h.events.byKind.filter((e) => e.kind === "Elasticsearch" && e.type === "Warning");
    const limit = onEs.filter((e) => e.reason === "ClientCertificateRejected");
    const untrusted = onEs.filter((e) => e.reason === "UntrustedClientCertificate");
    expect(limit.length).toBe(1);
    expect(untrusted.length).toBe(1);
    const leftOut = Number(limit[0]!.message.match(/^(\d+) input\(s\) left out/)?.[1]);
    expect(leftOut).toBeGreaterThanOrEqual(59); // about 60: the CA and the controller's share of the budget vary by a Secret
    expect(limit[0]!.message).toMatch(/BundleLimitReached: over the 900 KiB bundle limit/);
    expect(untrusted[0]!.message).toMatch(/^25 labelled Secret\(s\) not trusted/);
    // The limit is nobody's fault in particular: no per-Secret Event for it; each spoofed Secret gets its own.
    const onSecrets = h.events.byKind.filter((e) => e.kind === "Secret");
    expect(onSecrets.filter((e) => e.reason === "ClientCertificateRejected").length).toBe(0);
    expect(onSecrets.filter((e) => e.reason === "UntrustedClientCertificate").length).toBe(25);
    const condition = h.status()?.conditions?.find((c) => c.type === "TrustBundleValid");
    expect(condition?.status).toBe("False");
    expect(condition?.message).toContain(`${leftOut} BundleLimitReached`);
  }, 60_000);
});
