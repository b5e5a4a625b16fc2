// Turns an agent's CSR into a client certificate: policy check against the pod's managed
// identity first, then a leaf signed by the current client CA of the cluster the pod's intent names
// (never looked up from the pod: app.ts has checked, signing-authority.ts, that it still belongs there).
import type { CertificateResponse, ClusterRef, ManagedIdentity, PodRef } from "../../protocol/intent.ts";
import type { CertificateAuthority } from "../pki/ca.ts";
import { checkCsr } from "../pki/csr-policy.ts";
import { issueClientLeafFromTemplate } from "../pki/client-leaf-template.ts";

type CertificateOutcome = { ok: true; response: CertificateResponse } | { ok: false; reason: string };

export type CertificateIssuer = (request: { pod: PodRef; cluster: ClusterRef; identity: ManagedIdentity; csrPem: string }) => Promise<CertificateOutcome>;

interface CertificateIssuerOptions {
  /** The client CA of the cluster (the intent's); undefined while it does not exist yet. */
  caFor: (cluster: ClusterRef) => CertificateAuthority | undefined;
  now?: () => Date;
}

export function createCertificateIssuer(options: CertificateIssuerOptions): CertificateIssuer {
  return async ({ cluster, identity, csrPem }) => {
    const policy = await checkCsr(csrPem, identity);
    if (!policy.ok) return policy;
    const ca = options.caFor(cluster);
    if (!ca) return { ok: false, reason: "the cluster's client CA does not exist yet; retry later" };
    const leaf = await issueClientLeafFromTemplate({
      ca,
      spki: policy.csr.spki,
      subject: identity.subject,
      validityMs: identity.validitySeconds * 1000,
      now: options.now?.() ?? new Date(),
    });
    return {
      ok: true,
      response: { certificate: leaf.certificatePem, chain: leaf.chainPem, notBefore: leaf.notBefore.toISOString(), notAfter: leaf.notAfter.toISOString() },
    };
  };
}
