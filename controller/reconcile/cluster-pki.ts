// The cluster's client CA and the controller's own client certificate, as
// Secrets owned by the Elasticsearch resource. A CA is created once (create-only:
// a concurrent second create gets 409, never a second CA) and rotated with an
// overlap: the previous CA certificate stays in the Secret, and so in the trust
// bundle, until it expires, so certificates it signed keep working meanwhile.
import type { V1Secret } from "@kubernetes/client-node";
import { caFromSecretData, caToSecretData, createClientCa, shouldRotate, rotateIn, type CertificateAuthority } from "../pki/ca.ts";
import { clientCertToSecretData, controllerSubject, internalClientCertSecretName, issueControllerClientCertificate, needsReissue } from "../pki/leaf.ts";
import { x509 } from "../../common/x509.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../trust/target.ts";
import { ES_CLUSTER_LABEL, clientCaSecretName, esOwnerReference, type Elasticsearch } from "../kube/resources.ts";
import type { Writer } from "../kube/writer.ts";
import { log } from "../log.ts";
import { foreignReason, isOwnSecret } from "../policy/ownership.ts";

type PkiWriter = Pick<Writer, "apply" | "createSecret" | "replaceSecret">;

export const PREVIOUS_CA_KEY = "previous-ca.crt";
export const PREVIOUS_CA_PRIVATE_KEY = "previous-ca.key";

export interface ClientCas {
  current: CertificateAuthority;
  /** The outgoing CA while it is still valid (rotation overlap); it may still sign. */
  previous?: CertificateAuthority;
}

export interface PkiSettings {
  caValidityMs: number;
  caRotateBeforeMs: number;
  certValidityMs: number;
  /** Lifetime of certificates signed for agents' CSRs (Kibana identities, ES proof identities); short, renewed by the agent. */
  agentCertValidityMs?: number;
  certRotateBeforeMs: number;
}

function secretMeta(es: Elasticsearch, name: string) {
  return {
    name,
    namespace: es.metadata.namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ES_CLUSTER_LABEL]: es.metadata.name },
    ownerReferences: [esOwnerReference(es)],
  };
}

const parsedCas = new Map<string, { rv: string; ca: CertificateAuthority }>();

/** The parsed CA of a Secret, cached by resourceVersion (parsing keys on every reconcile is wasted work). */
async function parseCa(secret: V1Secret): Promise<CertificateAuthority> {
  const id = `${secret.metadata!.namespace}/${secret.metadata!.name}`;
  const rv = secret.metadata!.resourceVersion ?? "";
  const hit = parsedCas.get(id);
  if (hit && hit.rv === rv) return hit.ca;
  const ca = await caFromSecretData(secret.data);
  parsedCas.set(id, { rv, ca });
  return ca;
}

/** The cluster's client CA: created once, rotated before expiry keeping the outgoing one. */
export async function ensureClientCas(es: Elasticsearch, existingCa: V1Secret | undefined, writer: PkiWriter, s: PkiSettings, now = new Date()): Promise<ClientCas> {
  let caSecret = existingCa;
  let ca: CertificateAuthority | undefined;
  if (caSecret) {
    try {
      ca = await parseCa(caSecret);
    } catch (e) {
      log.warn("client CA secret is unusable; replacing it", { cluster: `${es.metadata.namespace}/${es.metadata.name}`, error: String(e) });
    }
  }
  if (!caSecret || !ca || shouldRotate(now, ca.certificate.notAfter, s.caRotateBeforeMs)) {
    const fresh = await createClientCa(es.metadata.name, { validityMs: s.caValidityMs, now });
    const data: Record<string, string> = { ...(await caToSecretData(fresh)) };
    // Keep the outgoing CA while it is still valid: the overlap window.
    if (ca && ca.certificate.notAfter > now) {
      const outgoing = await caToSecretData(ca);
      data[PREVIOUS_CA_KEY] = outgoing["tls.crt"];
      data[PREVIOUS_CA_PRIVATE_KEY] = outgoing["tls.key"];
    }
    const body: V1Secret = { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: secretMeta(es, clientCaSecretName(es.metadata.name)), data };
    if (!caSecret) {
      caSecret = await writer.createSecret(body);
      // A create that lost a race returns what exists: use it only if it is ours.
      if (!isOwnSecret(caSecret, es)) throw new Error(foreignReason(caSecret, es));
    } else {
      body.metadata!.resourceVersion = caSecret.metadata?.resourceVersion; // compare-and-swap
      caSecret = await writer.replaceSecret(body);
      log.info("rotated the client CA", { cluster: `${es.metadata.namespace}/${es.metadata.name}` });
    }
    ca = await parseCa(caSecret);
  }
  let previous: CertificateAuthority | undefined;
  if (caSecret.data?.[PREVIOUS_CA_KEY] && caSecret.data[PREVIOUS_CA_PRIVATE_KEY]) {
    try {
      const p = await caFromSecretData({ "tls.crt": caSecret.data[PREVIOUS_CA_KEY], "tls.key": caSecret.data[PREVIOUS_CA_PRIVATE_KEY] });
      if (p.certificate.notAfter > now) previous = p;
    } catch {
      // an unreadable previous CA is simply not trusted any more
    }
  }
  return { current: ca, ...(previous ? { previous } : {}) };
}

/** The controller's own client certificate, issued by `signer` (reissued when due or when the signer changed). */
export async function ensureInternalCertificate(es: Elasticsearch, existing: V1Secret | undefined, signer: CertificateAuthority, writer: PkiWriter, s: PkiSettings, now = new Date()): Promise<Date> {
  const subject = controllerSubject(es.metadata.name);
  const decision = await needsReissue(existing?.data, { ca: signer, subject, now, rotateBeforeMs: s.certRotateBeforeMs });
  if (!decision.reissue) return new x509.X509Certificate(atob(existing!.data!["tls.crt"]!)).notAfter;
  const pair = await issueControllerClientCertificate({ ca: signer, esName: es.metadata.name, validityMs: s.certValidityMs, now });
  await writer.apply<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: secretMeta(es, internalClientCertSecretName(es.metadata.name)),
    data: await clientCertToSecretData(pair),
  });
  if (existing) log.info("reissued the controller's client certificate", { cluster: `${es.metadata.namespace}/${es.metadata.name}`, why: decision.reason });
  return pair.certificate.notAfter;
}

/** When the CA or the controller's certificate next needs attention. */
export function pkiRequeueMs(cas: ClientCas, internalNotAfter: Date, s: PkiSettings, now = new Date()): number {
  const times = [rotateIn(now, cas.current.certificate.notAfter, s.caRotateBeforeMs), rotateIn(now, internalNotAfter, s.certRotateBeforeMs)];
  if (cas.previous) times.push(cas.previous.certificate.notAfter.getTime() - now.getTime() + 1000);
  return Math.max(1000, Math.min(...times));
}
