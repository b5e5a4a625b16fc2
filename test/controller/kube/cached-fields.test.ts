// Issue 18 finding 8: what the cluster-wide caches keep of a Pod, an Elasticsearch and a Kibana
// (kube/cached-fields.ts). What a tenant adds and the controller never reads is dropped
// (managedFields, other annotations, env, resources, scheduling, a nodeSet's podTemplate); every
// rule the reconciler applies to a cached pod gives the same answer on the kept pod as on the whole
// one. (The reconciler's own tests run on kept objects too: test/support/cluster-fakes.ts.)
import { expect, test } from "bun:test";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { cachedElasticsearch, cachedKibana, cachedPod, cachedSecretMetadata, withoutManagedFields } from "../../../controller/kube/cached-fields.ts";
import { httpTrustConflicts } from "../../../controller/policy/user-http-trust.ts";
import { kibanaProofUnavailable } from "../../../controller/policy/kibana-proof.ts";
import { kibanaChartHooksWouldFail } from "../../../controller/policy/kibana-chart-hooks.ts";
import { injectPod } from "../../../controller/admission/injection.ts";
import { httpsCallsThatWouldFail, needsProbeIdentity } from "../../../controller/policy/https-probes.ts";
import { agentImage, hasInjectionRecord, injectionRecord, isInjected, podEnforcement } from "../../../controller/policy/injection-record.ts";
import { findUninjected, notInjectable } from "../../../controller/policy/uninjected.ts";
import type { Elasticsearch, Kibana } from "../../../controller/resources.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, esPod, injectionConfig, kibanaMode, kibanaPod } from "../../support/eck-pods.ts";

const BIG = "x".repeat(64 * 1024);

/** What a tenant may add to a pod: all of it unread by the controller. */
function bulky(p: V1Pod): V1Pod {
  const pod = structuredClone(p);
  pod.metadata!.managedFields = [{ manager: "kubectl", operation: "Apply", fieldsV1: { blob: BIG } as never }];
  pod.metadata!.annotations = { ...pod.metadata!.annotations, "kubectl.kubernetes.io/last-applied-configuration": BIG, "tenant.example/x": BIG };
  pod.metadata!.uid ??= "uid-1";
  pod.metadata!.ownerReferences ??= [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "sts", uid: "sts-uid", controller: true }];
  pod.spec!.nodeSelector = { zone: "a" };
  pod.spec!.affinity = { nodeAffinity: {} };
  pod.spec!.tolerations = [{ key: BIG, operator: "Exists" }];
  for (const c of pod.spec!.containers) {
    c.env = [...(c.env ?? []), { name: "BLOB", value: BIG }];
    c.resources = { limits: { memory: "2Gi" } };
    c.readinessProbe ??= { exec: { command: ["bash", "-c", "curl -s https://127.0.0.1:9200/"] } };
  }
  pod.status = { phase: "Running", podIP: "10.0.0.9", conditions: [{ type: "Ready", status: "True", message: BIG }], containerStatuses: [{ name: "x", image: BIG, imageID: "", ready: true, restartCount: 0 }] };
  return pod;
}

const injected = (pod: V1Pod, mode: ReturnType<typeof esMode>) => applyPatch(pod, injectPod(pod, mode, injectionConfig()).patch);
const pods = () => [
  bulky(esPod("prod", "quickstart", "quickstart-es-default-0")),
  bulky(injected(esPod("prod", "quickstart", "quickstart-es-default-1"), esMode("prod", "quickstart"))),
  bulky(injected(kibanaPod("prod", "kb", "kb-1"), kibanaMode("prod", "quickstart"))),
];

test("a pod is kept without managedFields, other annotations, env, resources, scheduling or container statuses", () => {
  for (const whole of pods()) {
    const kept = cachedPod(whole);
    const text = JSON.stringify(kept);
    expect(text).not.toContain("xxxxxxxx");
    expect(text.length).toBeLessThan(JSON.stringify(whole).length / 20);
    expect(kept.metadata?.managedFields).toBeUndefined();
    expect(Object.keys(kept.metadata?.annotations ?? {}).every((k) => k.startsWith("mtls.es-mtls.io/"))).toBe(true);
    expect(kept.spec?.nodeSelector ?? kept.spec?.affinity ?? kept.spec?.tolerations).toBeUndefined();
    expect(kept.spec?.containers.every((c) => c.env === undefined && c.resources === undefined && c.image === undefined)).toBe(true);
    expect(kept.status).toEqual({ phase: "Running", podIP: "10.0.0.9", conditions: [{ type: "Ready", status: "True" }] });
    expect(kept.metadata).toMatchObject({ name: whole.metadata!.name, namespace: "prod", uid: whole.metadata!.uid, labels: whole.metadata!.labels, ownerReferences: whole.metadata!.ownerReferences });
  }
});

test("every rule the controller applies to a cached pod answers the same on the kept pod", () => {
  for (const whole of pods()) {
    const kept = cachedPod(whole);
    const rules = (p: V1Pod) => ({
      record: injectionRecord(p),
      hasRecord: hasInjectionRecord(p),
      injected: isInjected(p),
      enforcement: [podEnforcement(p, "Enabling"), podEnforcement(p, "Enabled"), podEnforcement(p, "Disabling")],
      notInjectable: notInjectable(p),
      uninjected: findUninjected({ namespace: "prod", name: "quickstart" }, [p]),
      https: httpsCallsThatWouldFail([p]),
      probeIdentity: needsProbeIdentity(p),
      volumes: (p.spec?.volumes ?? []).map((v) => [v.name, v.secret?.secretName]),
      mounts: p.spec?.containers.map((c) => c.volumeMounts?.map((m) => m.mountPath)),
      agentImage: agentImage(p),
    });
    expect(rules(kept)).toEqual(rules(whole));
  }
  // The webhook's injection was in the set (its record and agent container survive).
  expect(pods().map((p) => isInjected(cachedPod(p)))).toEqual([false, true, true]);
  // The agent's image is the one image kept (the status shows it per pod): the workload's are dropped.
  expect(pods().map((p) => agentImage(cachedPod(p)))).toEqual([undefined, injectionConfig().agentImage, injectionConfig().agentImage]);
});

test("an Elasticsearch keeps version, http, its nodeSets' name, count and config and of ECK's status observedGeneration and phase; a Kibana its count, ServiceAccount and elasticsearchRef", () => {
  const es = {
    apiVersion: "elasticsearch.k8s.elastic.co/v1",
    kind: "Elasticsearch",
    metadata: { name: "q", namespace: "prod", uid: "u", generation: 3, annotations: { "common.k8s.elastic.co/controller-version": "3.3.0", "mtls.es-mtls.io/health-http-ca-secret": "c", big: BIG }, managedFields: [{ manager: BIG }] },
    status: { observedGeneration: 2, phase: "Ready", health: "green", inProgressOperations: { big: BIG } },
    spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 3, config: { "xpack.security.http.ssl.certificate_authorities": ["/ca.crt"] }, podTemplate: { spec: { containers: [{ name: "elasticsearch", env: [{ name: "B", value: BIG }] }] } } }] },
  } as unknown as Elasticsearch;
  const keptEs = cachedElasticsearch(es);
  expect(JSON.stringify(keptEs)).not.toContain("xxxxxxxx");
  // controller-version is read by nothing (ECK stopped writing it after 1.9): not kept.
  expect(keptEs.metadata).toEqual({ name: "q", namespace: "prod", uid: "u", generation: 3, annotations: { "mtls.es-mtls.io/health-http-ca-secret": "c" } });
  expect(keptEs.status).toEqual({ observedGeneration: 2, phase: "Ready" });
  expect(cachedElasticsearch({ ...es, status: undefined }).status).toBeUndefined();
  expect(keptEs.spec).toEqual({ version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 3, config: { "xpack.security.http.ssl.certificate_authorities": ["/ca.crt"] } }] });
  const kb = { kind: "Kibana", metadata: { name: "kb", namespace: "prod", uid: "k" }, spec: { count: 1, serviceAccountName: "sa", elasticsearchRef: { name: "q", namespace: "prod" }, podTemplate: { big: BIG }, config: { big: BIG } } } as unknown as Kibana;
  expect(cachedKibana(kb)).toEqual({ kind: "Kibana", metadata: { name: "kb", namespace: "prod", uid: "k" }, spec: { count: 1, serviceAccountName: "sa", elasticsearchRef: { name: "q", namespace: "prod" } } } as Kibana);
});

test("issue 21: a metadata-only Secret keeps its name, labels, owners and read annotations; an object only es-mtls writes loses managedFields alone", () => {
  const managedFields = [{ manager: "kubectl", operation: "Apply", fieldsV1: { blob: BIG } as never }];
  const labels = { "eck.k8s.elastic.co/client-certificate": "true", "eck.k8s.elastic.co/owner-name": "es" };
  const ownerReferences = [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: "es", uid: "u" }];
  const meta: V1Secret = { apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: { name: "s", namespace: "ns", uid: "s-uid", resourceVersion: "7", labels, ownerReferences, managedFields, annotations: { "tenant.example/x": BIG, "mtls.es-mtls.io/y": "kept" } } };
  const kept = cachedSecretMetadata(meta);
  expect(JSON.stringify(kept)).not.toContain("xxxxxxxx");
  expect(kept).toEqual({ apiVersion: "meta.k8s.io/v1", kind: "PartialObjectMetadata", metadata: { name: "s", namespace: "ns", uid: "s-uid", resourceVersion: "7", labels, ownerReferences, annotations: { "mtls.es-mtls.io/y": "kept" } } });

  const ca: V1Secret = { metadata: { name: "ca", namespace: "es-mtls-system", resourceVersion: "3", managedFields, annotations: { "admin.example/note": "kept too" } }, type: "Opaque", data: { "tls.crt": "Y3J0", "tls.key": "a2V5" } };
  const whole = withoutManagedFields(ca);
  expect(whole).toEqual({ metadata: { name: "ca", namespace: "es-mtls-system", resourceVersion: "3", annotations: { "admin.example/note": "kept too" } }, type: "Opaque", data: { "tls.crt": "Y3J0", "tls.key": "a2V5" } });
  expect(ca.metadata?.managedFields).toBe(managedFields); // the input is left as it was
  const plain: V1Secret = { metadata: { name: "p" } };
  expect(withoutManagedFields(plain)).toBe(plain);
});

test("issue 19 item 5: of env only what the HTTP-trust and Kibana-proof rules read is kept, and the rules answer the same on the kept pod", () => {
  const es = bulky(esPod("prod", "quickstart", "es-0"));
  es.spec!.containers[0]!.env!.push({ name: "xpack.security.http.ssl.truststore.path", value: BIG }, { name: "ES_SETTING_XPACK_SECURITY_HTTP_SSL_TRUSTSTORE_PASSWORD", value: "secret" });
  const kb = bulky(kibanaPod("prod", "kb", "kb-1"));
  kb.spec!.containers[0]!.env!.push({ name: "ELASTICSEARCH_HOSTS", value: BIG }, { name: "STATUS_ALLOWANONYMOUS", value: "false" });
  const [keptEs, keptKb] = [cachedPod(es), cachedPod(kb)];
  expect(JSON.stringify([keptEs, keptKb])).not.toContain("xxxxxxxx");
  expect(keptEs.spec!.containers[0]!.env).toEqual([{ name: "xpack.security.http.ssl.truststore.path" }, { name: "ES_SETTING_XPACK_SECURITY_HTTP_SSL_TRUSTSTORE_PASSWORD" }]);
  expect(keptKb.spec!.containers[0]!.env).toEqual([{ name: "ELASTICSEARCH_HOSTS" }, { name: "STATUS_ALLOWANONYMOUS", value: "false" }]);
  expect(httpTrustConflicts([keptEs])).toEqual(httpTrustConflicts([es]));
  expect(httpTrustConflicts([keptEs])).toHaveLength(1);
  expect(kibanaProofUnavailable([keptKb])).toEqual(kibanaProofUnavailable([kb]));
  expect(kibanaProofUnavailable([keptKb])).toHaveLength(1);
  kb.spec!.containers[0]!.env!.push({ name: "STATUS_ALLOWANONYMOUS", value: "true" });
  expect(kibanaProofUnavailable([cachedPod(kb)])).toEqual([]);
});

test("issue 19 item 5: of the chart's service-account token variable only the Secret's name is kept, and the hook rule answers the same on the kept pod", () => {
  const kb = bulky(kibanaPod("prod", "kb", "kb-1"));
  kb.spec!.containers[0]!.env!.push({ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: "kibana-kibana-es-token", key: "token", optional: false } } });
  const kept = cachedPod(kb);
  expect(kept.spec!.containers[0]!.env).toEqual([{ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: "kibana-kibana-es-token", key: "" } } }]);
  expect(kibanaChartHooksWouldFail([kept])).toEqual(kibanaChartHooksWouldFail([kb]));
  expect(kibanaChartHooksWouldFail([kept])).toHaveLength(1);
  kb.spec!.containers[0]!.env!.splice(-1, 1, { name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: "x".repeat(300), key: "token" } } });
  expect(cachedPod(kb).spec!.containers[0]!.env).toEqual([{ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN" }]);
});
