// The intent API agents talk to: their projected tokens verified against the apiserver's JWKS and
// the pod cache, their CSRs signed by the client CA of their intent's cluster while they still
// belong to it, their status reports kept.
import type * as k8s from "@kubernetes/client-node";
import type { ControllerConfig } from "../config.ts";
import { createIntentApp } from "../intent-api/app.ts";
import { createCertificateIssuer } from "../intent-api/certificate-issuer.ts";
import { signingAuthority } from "../intent-api/signing-authority.ts";
import type { IntentStore } from "../intent-api/intent-store.ts";
import { createTokenVerifier } from "../intent-api/token-verifier.ts";
import type { CacheViews } from "../kube/informers.ts";
import { kubeJwks, serviceAccountIssuer } from "../kube/jwks.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";
import { log } from "../log.ts";
import type { CertificateAuthority } from "../pki/ca.ts";
import type { ReportStore } from "../reconcile/reports.ts";
import type { ServingMaterial } from "./material.ts";
import { serveTls, type TlsServer } from "./tls-server.ts";

export interface IntentApiServingDeps {
  kc: k8s.KubeConfig;
  config: Pick<ControllerConfig, "tokenAudience" | "maxStreamsPerPod" | "intentApiPort" | "intentApiAddress">;
  caches: Pick<CacheViews, "pods" | "kibana">;
  intents: IntentStore;
  reports: Pick<ReportStore, "put">;
  /** Cross-namespace references, asked afresh before a Kibana of another namespace is certified. */
  references: ReferenceAuthorizer;
  /** The reconciler: the current client CA of a cluster, if it exists. */
  signer: { caFor(namespace: string, name: string): CertificateAuthority | undefined };
}

/** Serves the intent API on `config.intentApiPort` with the serving material (after one lookup of the token issuer). */
export async function serveIntentApi(material: ServingMaterial, d: IntentApiServingDeps): Promise<TlsServer> {
  const { kc, config, caches } = d;
  const issuer = await serviceAccountIssuer(kc);
  const verifier = createTokenVerifier({
    jwks: kubeJwks(kc),
    issuer,
    audience: config.tokenAudience,
    pods: (namespace, name) => {
      const pod = caches.pods.get(name, namespace);
      return pod?.metadata?.uid && !pod.metadata.deletionTimestamp ? { uid: pod.metadata.uid, ...(pod.status?.phase ? { phase: pod.status.phase } : {}) } : undefined;
    },
  });
  const app = createIntentApp({
    verifier,
    intents: d.intents,
    // The CA of the cluster the pod's intent names, once the pod is known to still belong there.
    issueCertificate: createCertificateIssuer({ caFor: (cluster) => d.signer.caFor(cluster.namespace, cluster.name) }),
    mayCertify: signingAuthority({ pods: (namespace, name) => caches.pods.get(name, namespace), kibanas: caches.kibana, references: d.references }),
    onStatus: (pod, report) => d.reports.put(pod, report),
    maxStreamsPerPod: config.maxStreamsPerPod,
  });
  const server = serveTls({ fetch: app.fetch, tls: { cert: material.cert, key: material.key }, port: config.intentApiPort, hostname: config.intentApiAddress, idleTimeoutSeconds: 60 });
  log.info("intent API listening", { port: server.port, issuer });
  return server;
}
