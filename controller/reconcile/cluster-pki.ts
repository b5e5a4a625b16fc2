// The cluster's client CA and the controller's own client certificate. The CA lives in the
// controller's namespace (labelled with its cluster, deleted by reconcile/ca-secret.ts: an
// ownerReference cannot cross namespaces); the controller's certificate is a Secret owned by the
// Elasticsearch resource in its namespace. A CA is created once (create-only:
// a concurrent second create gets 409, never a second CA) and rotated with an
// overlap: the previous CA certificate stays in the Secret, and so in the trust
// bundle, until it expires, so certificates it signed keep working meanwhile.
import type { V1Secret } from "@kubernetes/client-node";
import { caFromSecretData, caToSecretData, createClientCa, shouldRotate, rotateIn, type CertificateAuthority } from "../pki/ca.ts";
import { clientCertToSecretData, controllerSubject, issueControllerClientCertificate, needsReissue } from "../pki/leaf.ts";
import {
  internalClientCertSecretName,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  CA_CLUSTER_NAMESPACE_LABEL,
  CA_CLUSTER_NAME_LABEL,
  CA_CLUSTER_UID_LABEL,
  ES_CLUSTER_LABEL,
  clientCaSecretName,
} from "../names.ts";
import { x509 } from "../../common/x509.ts";
import { isExpired } from "../../common/pem.ts";
import { esOwnerReference, type Elasticsearch } from "../resources.ts";
import type { Writer } from "../kube/writer.ts";
import { log } from "../log.ts";
import { caSecretRelation, foreignCaReason } from "../policy/ownership.ts";
import { ForeignCaSecretError, PkiMaterialError } from "../errors.ts";

type PkiWriter = Pick<Writer, "apply" | "createSecret" | "replaceSecret">;

const PREVIOUS_CA_KEY = "previous-ca.crt";
const PREVIOUS_CA_PRIVATE_KEY = "previous-ca.key";

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
  /** The controller's own namespace: the only place CA keys are kept. */
  caNamespace: string;
}

/** The lifetime, in seconds, of what the agents' CSRs get signed for (the intents say it). */
export function agentCertValiditySeconds(s: PkiSettings): number {
  return Math.floor((s.agentCertValidityMs ?? s.certValidityMs) / 1000);
}

function secretMeta(es: Elasticsearch, name: string) {
  return {
    name,
    namespace: es.metadata.namespace,
    labels: { [MANAGED_BY_LABEL]: MANAGED_BY, [ES_CLUSTER_LABEL]: es.metadata.name },
    ownerReferences: [esOwnerReference(es)],
  };
}

/** The CA Secret's metadata: in the controller's namespace, labelled with its cluster (namespace, name, UID). */
function caSecretMeta(es: Elasticsearch, caNamespace: string) {
  return {
    name: clientCaSecretName(es.metadata.namespace, es.metadata.name),
    namespace: caNamespace,
    labels: {
      [MANAGED_BY_LABEL]: MANAGED_BY,
      [CA_CLUSTER_NAMESPACE_LABEL]: es.metadata.namespace,
      [CA_CLUSTER_NAME_LABEL]: es.metadata.name,
      [CA_CLUSTER_UID_LABEL]: es.metadata.uid,
    },
  };
}

const parsedCas = new Map<string, { rv: string; key: string; ca: CertificateAuthority }>();

/** The parsed CA of a Secret, cached by resourceVersion and key (parsing keys on every reconcile is wasted work). */
async function parseCa(secret: V1Secret): Promise<CertificateAuthority> {
  const id = `${secret.metadata!.namespace}/${secret.metadata!.name}`;
  const rv = secret.metadata!.resourceVersion ?? "";
  const key = secret.data?.["tls.key"] ?? "";
  const hit = parsedCas.get(id);
  if (hit && hit.rv === rv && hit.key === key) return hit.ca;
  const ca = await caFromSecretData(secret.data);
  parsedCas.set(id, { rv, key, ca });
  return ca;
}

/** The cluster's client CA (its Secret in the controller's namespace): created once, rotated before expiry keeping the outgoing one. */
export async function ensureClientCas(es: Elasticsearch, existingCa: V1Secret | undefined, writer: PkiWriter, s: PkiSettings, now = new Date()): Promise<ClientCas> {
  let caSecret = existingCa;
  let ca: CertificateAuthority | undefined;
  if (caSecret) {
    try {
      ca = await parseCa(caSecret);
    } catch (e) {
      if (!(e instanceof PkiMaterialError)) throw e;
      log.warn("client CA secret is unusable; replacing it", { cluster: `${es.metadata.namespace}/${es.metadata.name}`, error: String(e) });
    }
  }
  if (!caSecret || !ca || shouldRotate(now, ca.certificate.notAfter, s.caRotateBeforeMs)) {
    const fresh = await createClientCa(es.metadata.name, { validityMs: s.caValidityMs, now });
    const data: Record<string, string> = { ...(await caToSecretData(fresh)) };
    // Keep the outgoing CA while it is still valid: the overlap window.
    if (ca && !isExpired(ca.certificate.notAfter, now)) {
      const outgoing = await caToSecretData(ca);
      data[PREVIOUS_CA_KEY] = outgoing["tls.crt"];
      data[PREVIOUS_CA_PRIVATE_KEY] = outgoing["tls.key"];
    }
    const body: V1Secret = { apiVersion: "v1", kind: "Secret", type: "Opaque", metadata: caSecretMeta(es, s.caNamespace), data };
    if (!caSecret) {
      caSecret = await writer.createSecret(body);
      // A create that lost a race returns what exists: use it only if it is ours.
      if (caSecretRelation(caSecret, es) !== "own") throw new ForeignCaSecretError(foreignCaReason(caSecret, es));
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
      if (!isExpired(p.certificate.notAfter, now)) previous = p;
    } catch (e) {
      // an unreadable previous CA is simply not trusted any more
      if (!(e instanceof PkiMaterialError)) throw e;
    }
  }
  return { current: ca, ...(previous ? { previous } : {}) };
}

/**
 * Stored certificates judged sound (parsed, key matched, signature checked: ~2 ms, the largest
 * per-cluster cost of a no-op resync; issue 21), by their Secret's tls.crt, with its tls.key: by
 * content, not by the data object, so the copy the writer answered, the cached one and a fresh read
 * all hit, and a certificate this controller just issued is never judged again (the echo of its
 * write re-checked every cluster's own at 3 ms each, 60 % of an initial sync's echo reconciles at
 * 1,000 clusters). Bounded: the oldest entries go first.
 */
const soundLeaves = new Map<string, { key: string; signer: x509.X509Certificate; commonName: string; organizationalUnit: string; notAfter: Date; cappedByCa: boolean }>();
const SOUND_LEAVES_MAX = 4096;
/** Stored certificates parsed and judged so far (tests count them: one issued here is never judged). */
export const leafJudgments = { count: 0 };

function rememberSound(data: Record<string, string>, signer: CertificateAuthority, subject: { commonName: string; organizationalUnit: string }, notAfter: Date) {
  const crt = data["tls.crt"]!;
  soundLeaves.delete(crt); // re-inserted as the newest
  soundLeaves.set(crt, { key: data["tls.key"]!, signer: signer.certificate, ...subject, notAfter, cappedByCa: notAfter.getTime() >= signer.certificate.notAfter.getTime() });
  if (soundLeaves.size > SOUND_LEAVES_MAX) soundLeaves.delete(soundLeaves.keys().next().value!);
}

/** The controller's own client certificate, issued by `signer` (reissued when due or when the signer changed). */
export async function ensureInternalCertificate(es: Elasticsearch, existing: V1Secret | undefined, signer: CertificateAuthority, writer: PkiWriter, s: PkiSettings, now = new Date()): Promise<Date> {
  const subject = controllerSubject(es.metadata.name);
  const crt = existing?.data?.["tls.crt"];
  const sound = crt === undefined ? undefined : soundLeaves.get(crt);
  // Judged sound before, for this signer and subject: only the time can have changed.
  if (sound && sound.key === existing!.data!["tls.key"] && sound.signer === signer.certificate && sound.commonName === subject.commonName && sound.organizationalUnit === subject.organizationalUnit) {
    if (sound.cappedByCa || !shouldRotate(now, sound.notAfter, s.certRotateBeforeMs)) return sound.notAfter;
  }
  leafJudgments.count++;
  const decision = await needsReissue(existing?.data, { ca: signer, subject, now, rotateBeforeMs: s.certRotateBeforeMs });
  if (!decision.reissue) {
    const notAfter = new x509.X509Certificate(atob(existing!.data!["tls.crt"]!)).notAfter;
    rememberSound(existing!.data!, signer, subject, notAfter);
    return notAfter;
  }
  const pair = await issueControllerClientCertificate({ ca: signer, esName: es.metadata.name, validityMs: s.certValidityMs, now });
  const data = await clientCertToSecretData(pair);
  await writer.apply<V1Secret>({
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: secretMeta(es, internalClientCertSecretName(es.metadata.name)),
    data,
  });
  // Issued here, by this signer, for this subject: sound by construction.
  rememberSound(data, signer, subject, pair.certificate.notAfter);
  if (existing) log.info("reissued the controller's client certificate", { cluster: `${es.metadata.namespace}/${es.metadata.name}`, why: decision.reason });
  return pair.certificate.notAfter;
}

/** When the CA or the controller's certificate next needs attention. */
export function pkiRequeueMs(cas: ClientCas, internalNotAfter: Date, s: PkiSettings, now = new Date()): number {
  const times = [rotateIn(now, cas.current.certificate.notAfter, s.caRotateBeforeMs)];
  // Due now yet kept: it lasts as long as its CA (pki/issue-leaf.ts), whose rotation is timed above.
  const leafIn = rotateIn(now, internalNotAfter, s.certRotateBeforeMs);
  if (leafIn > 0) times.push(leafIn);
  if (cas.previous) times.push(cas.previous.certificate.notAfter.getTime() - now.getTime() + 1000);
  return Math.max(1000, Math.min(...times));
}
