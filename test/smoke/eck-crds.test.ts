// Compatibility with the real ECK 3.5 CRDs, read from ECK's Go module at test time
// (test/eck/module.ts; never copied into this project). Objects written for es-mtls must survive a
// round trip through ECK's schemas, so users can run either.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eckCrdsFile } from "../eck/module.ts";

const ECK_CRDS = eckCrdsFile("the ECK CRD round trip");
const present = ECK_CRDS !== undefined;

let cp: ControlPlane | undefined;
beforeAll(async () => {
  if (present) cp = await ControlPlane.start({ crds: [ECK_CRDS!], controllerManager: false });
}, 900_000);
afterAll(async () => {
  await cp?.stop();
});

test.skipIf(!present)("Elasticsearch and Kibana objects with the mTLS fields round-trip through ECK's CRDs", async () => {
  const custom = cp!.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  const core = cp!.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: "eck" } } });
  const esSpec = {
    version: "9.4.0",
    http: { tls: { client: { authentication: true } } },
    nodeSets: [{ name: "default", count: 3, config: { "node.store.allow_mmap": false } }],
  };
  await custom.createNamespacedCustomObject({
    group: "elasticsearch.k8s.elastic.co",
    version: "v1",
    plural: "elasticsearches",
    namespace: "eck",
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "quickstart" }, spec: esSpec },
  });
  const es: any = await custom.getNamespacedCustomObject({
    group: "elasticsearch.k8s.elastic.co",
    version: "v1",
    plural: "elasticsearches",
    namespace: "eck",
    name: "quickstart",
  });
  expect(es.spec.http.tls.client.authentication).toBe(true);
  expect(es.spec.nodeSets[0]).toMatchObject(esSpec.nodeSets[0]!);

  const kbSpec = {
    version: "9.4.0",
    count: 1,
    elasticsearchRef: { name: "quickstart", clientCertificateSecretName: "my-custom-client-cert" },
  };
  await custom.createNamespacedCustomObject({
    group: "kibana.k8s.elastic.co",
    version: "v1",
    plural: "kibanas",
    namespace: "eck",
    body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "quickstart" }, spec: kbSpec },
  });
  const kb: any = await custom.getNamespacedCustomObject({
    group: "kibana.k8s.elastic.co",
    version: "v1",
    plural: "kibanas",
    namespace: "eck",
    name: "quickstart",
  });
  expect(kb.spec.elasticsearchRef).toEqual(kbSpec.elasticsearchRef);
  expect(kb.spec.count).toBe(1);
});
