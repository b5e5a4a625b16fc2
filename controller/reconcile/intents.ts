// Per-pod intents, derived from the cluster's state and never the other way
// round. Paths are ECK's mount points, so the workload reads the same files as
// under ECK.
import type { V1Pod } from "@kubernetes/client-node";
import type { FileLayout, Identity, Intent, ManagedIdentity, Phase, SelfSignedIdentity, TrustBundle } from "../../protocol/intent.ts";
import { MATERIAL_FILE_MODE } from "../../protocol/agent-env.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE, ES_PROBE_DIR, ES_PROBE_FILE, KIBANA_CERT_DIR, PROBE_VOLUME } from "../names.ts";
import { podEnforcement } from "../policy/injection-record.ts";
import { needsProbeIdentity } from "../policy/https-probes.ts";

const ES_FILES: Omit<FileLayout, "mode" | "uid" | "gid"> = {
  dir: ES_BUNDLE_DIR,
  bundle: ES_BUNDLE_FILE,
  certificate: "tls.crt",
  key: "tls.key",
};
const KIBANA_FILES: Omit<FileLayout, "mode" | "uid" | "gid"> = {
  dir: KIBANA_CERT_DIR,
  bundle: "ca.crt",
  certificate: "tls.crt",
  key: "tls.key",
};
/** The official images run as uid 1000, gid 0; the agent runs as the same user. */
const OWNER = { uid: 1000, gid: 0 };

export interface ClusterIntentInput {
  generation: number;
  cluster: { namespace: string; name: string };
  phase: Phase;
  bundle: TrustBundle;
  /** Lifetime of certificates signed for agents. */
  certValiditySeconds: number;
}

/**
 * Elasticsearch pods present no certificate to anyone; their agent still gets one from
 * the cluster's CA, only to prove that the local Elasticsearch accepts a certificate the
 * current bundle trusts. CN names that purpose, so no realm mistakes it for a user.
 */
const PROOF_COMMON_NAME = "es-mtls-proof";
/**
 * Lifetime of the proof identity (issue 18 finding 5): it lives only in the agent's memory and the
 * agent makes a new one at will (renewed at 2/3, ~80 min), so nothing is lost by keeping it short,
 * and a pod that is gone leaves no certificate of its cluster valid for more than 2 h. Capped at
 * --agent-cert-validity, so a shorter setting (tests) still applies.
 */
const ES_PROOF_VALIDITY_SECONDS = 2 * 3600;
/**
 * The local probe identity of an Elasticsearch pod (curl in the container's own probes and hooks,
 * through CURL_HOME): trusted by the cluster's bundle like every identity its CA signs.
 */
const PROBE_COMMON_NAME = "es-mtls-probe";
/**
 * Lifetime of the probe identity (issue 18 finding 3): its key sits on a volume the Elasticsearch
 * container reads, so it is kept to hours, and renewed at half its life (~2 h) rather than 2/3: if
 * the controller cannot be reached, the chart's probe keeps passing for the remaining ~2 h, while a
 * copied key is worth at most 4 h. Capped at --agent-cert-validity like the proof identity.
 */
const PROBE_VALIDITY_SECONDS = 4 * 3600;
const PROBE_RENEW_AT_FRACTION = 1 / 2;

/** An identity the agent creates in the pod and the cluster's client CA signs. */
export function managedIdentity(commonName: string, organizationalUnit: string, validitySeconds: number, renewAtFraction = 2 / 3): ManagedIdentity {
  return { source: "managed", subject: { commonName, organizationalUnit }, keyAlgorithm: "ECDSA-P256", validitySeconds, renewAtFraction };
}

function podIntent(pod: V1Pod, c: ClusterIntentInput, role: Intent["role"], rest: Pick<Intent, "enforcement" | "identity" | "files"> & Partial<Intent>): Intent {
  return {
    type: "intent",
    generation: c.generation,
    pod: { namespace: pod.metadata!.namespace!, name: pod.metadata!.name!, uid: pod.metadata!.uid! },
    role,
    cluster: c.cluster,
    phase: c.phase,
    ...rest,
  };
}

/**
 * The intents of one cluster's pods at one reconcile. What they all share (identities, file layouts)
 * is built once and shared by every pod's intent, which is never changed once built
 * (bench/propagation.ts: 1,100 pods per reconcile).
 */
export function clusterIntents(c: ClusterIntentInput): { elasticsearch(pod: V1Pod): Intent; kibana(pod: V1Pod, identity: Identity): Intent } {
  const esIdentity = managedIdentity(PROOF_COMMON_NAME, c.cluster.name, Math.min(ES_PROOF_VALIDITY_SECONDS, c.certValiditySeconds));
  const esFiles = { ...ES_FILES, mode: MATERIAL_FILE_MODE, ...OWNER };
  const probe = { identity: managedIdentity(PROBE_COMMON_NAME, c.cluster.name, Math.min(PROBE_VALIDITY_SECONDS, c.certValiditySeconds), PROBE_RENEW_AT_FRACTION), dir: ES_PROBE_DIR, file: ES_PROBE_FILE };
  const kibanaFiles = { ...KIBANA_FILES, mode: MATERIAL_FILE_MODE, ...OWNER };
  return {
    elasticsearch: (pod) =>
      podIntent(pod, c, "elasticsearch", {
        enforcement: podEnforcement(pod, c.phase),
        trustBundle: c.bundle,
        identity: esIdentity,
        files: esFiles,
        // Only where injection gave the pod the probe folder (pods injected before it have none), and
        // only where a probe or hook of its elasticsearch container calls it over HTTPS with curl.
        ...(hasProbeVolume(pod) && needsProbeIdentity(pod) ? { probe } : {}),
      }),
    // Kibana enforces nothing; it presents its identity while any ES pod may require one.
    kibana: (pod, identity) => podIntent(pod, c, "kibana", { enforcement: "none", identity, files: kibanaFiles }),
  };
}

export function elasticsearchIntent(pod: V1Pod, c: ClusterIntentInput): Intent {
  return clusterIntents(c).elasticsearch(pod);
}

function hasProbeVolume(pod: V1Pod): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.name === PROBE_VOLUME);
}

/** How a pod whose cluster no longer uses client authentication is told to start and stay out of the way. */
export interface RetiredInput {
  generation: number;
  cluster: { namespace: string; name: string };
  phase: Phase;
  /** A non-empty bundle that trusts nobody (pki/inert.ts): Elasticsearch refuses an empty CA file. */
  inertBundle: TrustBundle;
}

/**
 * The intent of an injected pod of an inactive cluster (Disabled, Blocked): never a refusal, which
 * would keep the pod from starting (issue 13). Elasticsearch gets the inert bundle and no identity;
 * Kibana an identity made in the pod and trusted by nobody, so its configured files exist.
 */
export function retiredIntent(pod: V1Pod, role: Intent["role"], r: RetiredInput): Intent {
  const c = { generation: r.generation, cluster: r.cluster, phase: r.phase, bundle: r.inertBundle, certValiditySeconds: 0 };
  if (role === "elasticsearch") {
    return podIntent(pod, c, "elasticsearch", { enforcement: podEnforcement(pod, r.phase), trustBundle: r.inertBundle, files: { ...ES_FILES, mode: MATERIAL_FILE_MODE, ...OWNER } });
  }
  const identity: SelfSignedIdentity = { source: "selfSigned", subject: { commonName: "es-mtls-retired", organizationalUnit: r.cluster.name }, keyAlgorithm: "ECDSA-P256", validitySeconds: 365 * 24 * 3600 };
  return podIntent(pod, c, "kibana", { enforcement: "none", identity, files: { ...KIBANA_FILES, mode: MATERIAL_FILE_MODE, ...OWNER } });
}
