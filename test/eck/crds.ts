// ECK installed over es-mtls's standalone CRDs, as a user installing ECK later does it (`kubectl
// replace`, or a Helm install that owns the CRDs): ECK's own Elasticsearch and Kibana CRDs from its
// module replace the standalone ones whole, so the standalone label goes with them.
import * as k8s from "@kubernetes/client-node";
import { readManifests } from "../controlplane/crds.ts";
import { eventually } from "../support/eventually.ts";

const REPLACED = ["elasticsearches.elasticsearch.k8s.elastic.co", "kibanas.kibana.k8s.elastic.co"];

/** Replaces the Elasticsearch and Kibana CRDs with ECK's (`eckCrds`: its all-crds.yaml) and waits until they are established. */
export async function replaceWithEckCrds(kc: k8s.KubeConfig, eckCrds: string): Promise<void> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const eck = readManifests([eckCrds]).filter((d) => d.kind === "CustomResourceDefinition" && REPLACED.includes(d.metadata?.name));
  if (eck.length !== REPLACED.length) throw new Error(`${eckCrds} lacks one of ${REPLACED.join(", ")}`);
  for (const crd of eck) {
    const current = await api.readCustomResourceDefinition({ name: crd.metadata.name });
    const body = { ...crd, metadata: { ...crd.metadata, resourceVersion: current.metadata!.resourceVersion } } as k8s.V1CustomResourceDefinition;
    await api.replaceCustomResourceDefinition({ name: crd.metadata.name, body });
  }
  for (const name of REPLACED) {
    await eventually(async () => {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.metadata?.labels?.["app.kubernetes.io/part-of"] === "es-mtls") throw new Error(`${name} is still es-mtls's`);
      if (!crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) throw new Error(`${name} not established`);
    }, { timeoutMs: 30_000, what: `ECK's CRD ${name}` });
  }
}
