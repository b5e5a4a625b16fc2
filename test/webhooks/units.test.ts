// Unit tests of the pure webhook pieces: injection decisions and patches, ECK's validation rules
// and messages, detection of uninjected pods, and the desired webhook configurations.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { injectPod } from "../../controller/admission/injection.ts";
import { injectionRecord, isInjected } from "../../controller/policy/injection-record.ts";
import {
  MSG_CLIENT_CERT_REF,
  MSG_NAME_AND_SECRET_NAME,
  MSG_NAMESPACE_WITHOUT_NAME,
  MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE,
  MSG_SERVICE_NAME_WITHOUT_NAME,
  MSG_LICENSE,
  MSG_NODESET_REQUIRED,
  MSG_TLS,
  invalidMessage,
  validateElasticsearch,
  validateKibana,
} from "../../controller/policy/validation.ts";
import { enterpriseFeaturesEnabled } from "../../controller/policy/license.ts";
import { findUninjected } from "../../controller/policy/uninjected.ts";
import { desiredMutatingWebhookConfiguration, desiredValidatingWebhookConfiguration } from "../../controller/admission/configurations.ts";
import { applyPatch } from "../support/json-patch.ts";
import { esMode, esPod, injectionConfig, kibanaMode, kibanaPod } from "./fixtures.ts";

const agentOf = (pod: V1Pod): V1Container | undefined => [...(pod.spec?.initContainers ?? []), ...pod.spec!.containers].find((c) => c.name === "es-mtls-agent");

describe("injection decisions", () => {
  const config = injectionConfig();

  test("skips pods of non-mTLS clusters, the controller's namespace, non-ECK pods, injected pods, other clusters and inactive phases", () => {
    const pod = esPod("prod", "quickstart", "quickstart-es-default-0");
    expect(injectPod(pod, undefined, config)).toEqual({ patch: [], skipped: "not a pod of a cluster with client authentication" });
    expect(injectPod(esPod("es-mtls-system", "quickstart", "x"), esMode("es-mtls-system", "quickstart"), config).skipped).toContain("controller's namespace");
    const plain: V1Pod = { metadata: { name: "p", namespace: "prod", labels: { app: "x" } }, spec: { containers: [{ name: "c" }] } };
    expect(injectPod(plain, esMode("prod", "quickstart"), config).skipped).toContain("not an Elasticsearch or Kibana pod");
    // "Already injected" is what the pod holds (the agent container), never an annotation anyone can copy into a template (issue 9 item 5).
    const withAgent: V1Pod = { ...pod, spec: { ...pod.spec!, initContainers: [{ name: "es-mtls-agent" }] } };
    expect(injectPod(withAgent, esMode("prod", "quickstart"), config).skipped).toBe("already injected");
    const spoofed = esPod("prod", "quickstart", "p", { annotations: { "mtls.es-mtls.io/injected": '{"version":1,"enforcement":"required"}' } });
    expect(injectPod(spoofed, esMode("prod", "quickstart"), config).skipped).toBeUndefined();
    expect(injectPod(pod, esMode("prod", "other"), config).skipped).toContain("not prod/other");
    expect(injectPod(pod, kibanaMode("prod", "quickstart"), config).skipped).toContain("cluster mode is for kibana");
    for (const phase of ["Disabled", "Blocked"] as const) {
      expect(injectPod(pod, esMode("prod", "quickstart", { phase }), config)).toEqual({ patch: [], skipped: `cluster phase is ${phase}: nothing to inject` });
    }
  });

  test("refuses to mount over an existing mount at ECK's path (ECK's own feature on)", () => {
    const pod = esPod("prod", "quickstart", "p");
    pod.spec!.containers[0]!.volumeMounts!.push({ name: "elastic-internal-client-trust-bundle", mountPath: "/usr/share/elasticsearch/config/client-trust-bundle/" });
    expect(injectPod(pod, esMode("prod", "quickstart"), config).skipped).toContain("already mounted (volume elastic-internal-client-trust-bundle)");
  });

  test("a patched ES pod: agent last among init containers, settings per enforcement, user duplicates replaced (their CAs carried on), second pass is a no-op", () => {
    const pod = esPod("prod", "quickstart", "p", {
      env: [
        { name: "ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION", value: "optional" },
        { name: "xpack.security.http.ssl.certificate_authorities", value: "/mine.crt" },
        { name: "node.roles", value: "master" },
      ],
    });
    const { patch, record } = injectPod(pod, esMode("prod", "quickstart", { phase: "Disabling", enforcement: "none" }), config);
    const out = applyPatch(pod, patch as any);
    expect(out.spec!.initContainers!.map((c) => c.name)).toEqual(["elastic-internal-init-filesystem", "es-mtls-agent"]);
    expect(out.spec!.containers.map((c) => c.name)).toEqual(["elasticsearch"]);
    expect(out.spec!.containers[0]!.env).toEqual([
      { name: "POD_NAME", value: "p" },
      { name: "node.roles", value: "master" },
      { name: "xpack.security.http.ssl.client_authentication", value: "none" },
      {
        name: "xpack.security.http.ssl.certificate_authorities",
        // The container's own CAs (as the Helm chart sets its HTTP CA), then the bundle.
        value: "/mine.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
      },
      { name: "CURL_HOME", value: "/usr/share/elasticsearch/config/es-mtls-probe" },
    ]);
    expect(record!.overridden).toEqual(["ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION"]);
    expect(injectionRecord(out)).toEqual(record);
    expect(isInjected(out)).toBe(true);
    expect(injectPod(out, esMode("prod", "quickstart"), config)).toEqual({ patch: [], skipped: "already injected" });
  });

  test("user certificate_authorities replace the HTTP CA default and the bundle is appended (ECK's order)", () => {
    const { record } = injectPod(esPod("prod", "q", "p"), esMode("prod", "q", { userCertificateAuthorities: ["/usr/share/elasticsearch/config/extra/ca.crt"] }), config);
    expect(record!.settings["xpack.security.http.ssl.certificate_authorities"]).toBe(
      "/usr/share/elasticsearch/config/extra/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
    );
  });

  test("the agent runs as the workload's UID, never root, and with the hardening", () => {
    const withUid = esPod("prod", "q", "p");
    withUid.spec!.securityContext = { runAsUser: 4242, runAsGroup: 4343 };
    expect(agentOf(applyPatch(withUid, injectPod(withUid, esMode("prod", "q"), config).patch as any))!.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 4242,
      runAsGroup: 4343,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    const root = esPod("prod", "q", "p");
    root.spec!.containers[0]!.securityContext = { runAsUser: 0 };
    expect(agentOf(applyPatch(root, injectPod(root, esMode("prod", "q"), config).patch as any))!.securityContext!.runAsUser).toBe(1000);
  });

  test("Kibana: client certificate settings, the user's Secret mounted in the agent only, probe scheme from Kibana's own probe", () => {
    const pod = kibanaPod("prod", "kb", "kb-kb-abc");
    const { patch } = injectPod(pod, kibanaMode("prod", "quickstart", { kibanaUserSecret: "my-cert" }), config);
    const out = applyPatch(pod, patch as any);
    expect(out.spec!.containers[0]!.env).toEqual([
      { name: "ELASTICSEARCH_SSL_CERTIFICATE", value: "/usr/share/kibana/config/elasticsearch-client-certs/tls.crt" },
      { name: "ELASTICSEARCH_SSL_KEY", value: "/usr/share/kibana/config/elasticsearch-client-certs/tls.key" },
      { name: "ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE", value: "true" },
    ]);
    expect(out.spec!.volumes!.find((v) => v.name === "es-mtls-user-client-cert")).toEqual({ name: "es-mtls-user-client-cert", secret: { secretName: "my-cert" } });
    const agent = agentOf(out)!;
    expect(agent.volumeMounts).toContainEqual({ name: "es-mtls-user-client-cert", mountPath: "/var/run/secrets/es-mtls-user-client-cert", readOnly: true });
    expect(out.spec!.containers[0]!.volumeMounts).toEqual([{ name: "es-mtls-material", mountPath: "/usr/share/kibana/config/elasticsearch-client-certs", readOnly: true }]);
    expect(agent.env).toContainEqual({ name: "ES_MTLS_PROBE_URL", value: "https://127.0.0.1:5601" });
    expect(agent.env).toContainEqual({ name: "ES_MTLS_ROLE", value: "kibana" });
  });

  test("classic mode: one-shot init container plus a classic sidecar, no native restartPolicy", () => {
    const pod = esPod("prod", "q", "p");
    const out = applyPatch(pod, injectPod(pod, esMode("prod", "q"), injectionConfig({ sidecarMode: "classic" })).patch as any);
    const init = out.spec!.initContainers!.find((c) => c.name === "es-mtls-agent-init")!;
    expect(init.args).toEqual(["--once"]);
    expect(init.restartPolicy).toBeUndefined();
    expect(init.startupProbe ?? init.readinessProbe ?? init.livenessProbe).toBeUndefined();
    const sidecar = out.spec!.containers.find((c) => c.name === "es-mtls-agent")!;
    expect(sidecar.restartPolicy).toBeUndefined();
    expect(sidecar.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(injectionRecord(out)!.sidecar).toBe("classic");
  });

  test("token lifetime is bounded", () => {
    const lifetime = (s: number) => {
      const out = applyPatch(esPod("n", "q", "p"), injectPod(esPod("n", "q", "p"), esMode("n", "q"), injectionConfig({ tokenExpirationSeconds: s })).patch as any);
      return out.spec!.volumes!.find((v) => v.name === "es-mtls-agent")!.projected!.sources![0]!.serviceAccountToken!.expirationSeconds;
    };
    expect([lifetime(60), lifetime(7200), lifetime(10 ** 7)]).toEqual([600, 7200, 86400]);
  });
});

describe("validation (ECK's rules and messages)", () => {
  const es = (tls: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ metadata: { name: "q" }, spec: { version: "9.4.0", http: { tls }, ...extra } });
  const on = { client: { authentication: true } };

  test("license levels that count as enterprise", () => {
    expect(["enterprise", "enterprise_trial", "enterprise-trial"].map((level) => enterpriseFeaturesEnabled({ level }))).toEqual([true, true, true]);
    expect(["basic", "", undefined].map((level) => enterpriseFeaturesEnabled({ level }))).toEqual([false, false, false]);
  });

  test("enabling without an enterprise license is forbidden; with one it passes; off needs no license", () => {
    expect(validateElasticsearch(es(on), { level: "basic" }).errors).toEqual([{ type: "Forbidden", field: "spec.http.tls.client.authentication", detail: MSG_LICENSE }]);
    expect(validateElasticsearch(es(on), { level: "enterprise" }).errors).toEqual([]);
    expect(validateElasticsearch(es({ client: { authentication: false } }), { level: undefined }).errors).toEqual([]);
  });

  test("TLS disabled is invalid, unless a user certificate keeps TLS on; both errors are reported together", () => {
    const off = { ...on, selfSignedCertificate: { disabled: true } };
    const result = validateElasticsearch(es(off), { level: undefined });
    expect(result.errors.map((e) => e.detail)).toEqual([MSG_TLS, MSG_LICENSE]);
    expect(invalidMessage("Elasticsearch", "elasticsearch.k8s.elastic.co", "q", result.errors)).toBe(
      `Elasticsearch.elasticsearch.k8s.elastic.co "q" is invalid: [spec.http.tls.client.authentication: Invalid value: true: ${MSG_TLS}, spec.http.tls.client.authentication: Forbidden: ${MSG_LICENSE}]`,
    );
    expect(validateElasticsearch(es({ ...off, certificate: { secretName: "mine" } }), { level: "enterprise" }).errors).toEqual([]);
  });

  test("client_authentication required in nodeSet config is a warning (nested or dotted)", () => {
    const dotted = es({}, { nodeSets: [{ name: "a", config: { "xpack.security.http.ssl.client_authentication": "required" } }] });
    const nested = es({}, { nodeSets: [{ name: "a", config: { xpack: { security: { http: { ssl: { client_authentication: "required" } } } } } }] });
    const optional = es({}, { nodeSets: [{ name: "a", config: { "xpack.security.http.ssl.client_authentication": "optional" } }] });
    expect([dotted, nested, optional].map((o) => validateElasticsearch(o, { level: undefined }).warnings)).toEqual([[MSG_NODESET_REQUIRED], [MSG_NODESET_REQUIRED], []]);
  });

  test("Kibana clientCertificateSecretName only with name", () => {
    const kb = (ref: Record<string, string>) => ({ spec: { elasticsearchRef: ref } });
    expect(validateKibana(kb({ secretName: "ext", clientCertificateSecretName: "c" })).errors).toEqual([{ type: "Forbidden", field: "spec.elasticsearchRef", detail: MSG_CLIENT_CERT_REF }]);
    expect(validateKibana(kb({ clientCertificateSecretName: "c" })).errors).toHaveLength(1);
    expect(validateKibana(kb({ name: "q", clientCertificateSecretName: "c" })).errors).toEqual([]);
    expect(validateKibana(kb({ secretName: "ext" })).errors).toEqual([]);
  });

  test("Kibana elasticsearchRef: ECK's ObjectSelector rules, in ECK's order, with ECK's words", () => {
    const kb = (ref: Record<string, string>) => ({ spec: { elasticsearchRef: ref } });
    const detail = (ref: Record<string, string>) => validateKibana(kb(ref)).errors.map((e) => e.detail);
    expect(detail({ name: "q", secretName: "ext", clientCertificateSecretName: "c" })).toEqual([MSG_NAME_AND_SECRET_NAME]);
    expect(detail({ name: "q", secretName: "ext" })).toEqual([MSG_NAME_AND_SECRET_NAME]);
    expect(detail({ secretName: "ext", namespace: "other" })).toEqual([MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE]);
    expect(detail({ secretName: "ext", serviceName: "svc" })).toEqual([MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE]);
    expect(detail({ serviceName: "svc" })).toEqual([MSG_SERVICE_NAME_WITHOUT_NAME]);
    expect(detail({ namespace: "other" })).toEqual([MSG_NAMESPACE_WITHOUT_NAME]);
    expect(detail({ name: "q", namespace: "other", serviceName: "svc" })).toEqual([]);
    expect(MSG_NAME_AND_SECRET_NAME).toBe("Invalid association reference: specify name or secretName, not both");
  });
});

describe("uninjected pods", () => {
  test("reports pods without the agent, ignoring terminating and finished ones", () => {
    const config = injectionConfig();
    const injected = esPod("prod", "q", "q-es-default-0");
    const a = applyPatch(injected, injectPod(injected, esMode("prod", "q"), config).patch as any);
    const b = esPod("prod", "q", "q-es-default-2");
    const c = esPod("prod", "q", "q-es-default-1");
    const gone = { ...esPod("prod", "q", "q-es-default-3"), metadata: { ...esPod("prod", "q", "x").metadata, name: "q-es-default-3", deletionTimestamp: new Date() } };
    const report = findUninjected({ namespace: "prod", name: "q" }, [a, b, c, gone]);
    expect(report!.pods).toEqual(["q-es-default-1", "q-es-default-2"]);
    expect(report!.reason).toBe("PodsNotInjected");
    expect(report!.message).toStartWith("2 of 3 pods of prod/q run without the es-mtls agent");
    expect(findUninjected({ namespace: "prod", name: "q" }, [a])).toBeUndefined();
  });
});

describe("webhook configurations", () => {
  test("pods: CREATE only, narrow selectors, timeout ≤ 10, Fail by default; validation Ignore by default", () => {
    const m = desiredMutatingWebhookConfiguration({ timeoutSeconds: 30 }).webhooks![0]!;
    expect(m.rules).toEqual([{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "Namespaced" }]);
    expect([m.timeoutSeconds, m.failurePolicy, m.sideEffects, m.admissionReviewVersions]).toEqual([10, "Fail", "None", ["v1"]]);
    expect(m.namespaceSelector!.matchExpressions![0]!.values).toContain("es-mtls-system");
    // Only namespaces the controller labelled active (it holds an enabled cluster) are sent at all.
    expect(m.namespaceSelector!.matchExpressions![1]).toEqual({ key: "mtls.es-mtls.io/active", operator: "In", values: ["true"] });
    // The webhook Service selects every replica (the intent API's es-mtls-controller only the leader).
    expect(m.clientConfig.service).toEqual({ namespace: "es-mtls-system", name: "es-mtls-controller-webhook", port: 443, path: "/mutate-pods" });
    const v = desiredValidatingWebhookConfiguration({ client: { url: "https://127.0.0.1:1/" }, caPem: "PEM" }).webhooks!;
    expect(v.map((w) => [w.name, w.failurePolicy, w.clientConfig.url, w.clientConfig.caBundle])).toEqual([
      ["elasticsearches.mtls.es-mtls.io", "Ignore", "https://127.0.0.1:1/validate-elasticsearch", btoa("PEM")],
      ["kibanas.mtls.es-mtls.io", "Ignore", "https://127.0.0.1:1/validate-kibana", btoa("PEM")],
    ]);
  });
});
