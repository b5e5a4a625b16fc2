// A client-certificate Secret the way ECK labels them: trusted by an Elasticsearch
// cluster when its ownerReference names a real ECK object in the same namespace.
import type * as k8s from "@kubernetes/client-node";

export function clientCertLabels(es: string, namespace: string): Record<string, string> {
  return {
    "eck.k8s.elastic.co/client-certificate": "true",
    "eck.k8s.elastic.co/owner-name": es,
    "eck.k8s.elastic.co/owner-namespace": namespace,
    "eck.k8s.elastic.co/owner-kind": "Elasticsearch",
  };
}

export function createClientCertSecret(
  core: k8s.CoreV1Api,
  o: { namespace: string; name: string; es: string; owner: { kind: string; name: string; uid: string; apiVersion?: string }; certPem: string },
): Promise<k8s.V1Secret> {
  return core.createNamespacedSecret({
    namespace: o.namespace,
    body: {
      metadata: {
        name: o.name,
        labels: clientCertLabels(o.es, o.namespace),
        ownerReferences: [{ apiVersion: o.owner.apiVersion ?? "kibana.k8s.elastic.co/v1", kind: o.owner.kind, name: o.owner.name, uid: o.owner.uid }],
      },
      stringData: { "tls.crt": o.certPem },
    },
  });
}
