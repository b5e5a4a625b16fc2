// The admission webhooks through the real kube-apiserver: it calls the hono app over HTTPS (serving
// certificate from controller/pki/serving.ts, caBundle kept in sync by syncCaBundles), as in a cluster.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { eventually } from "../support/eventually.ts";
import { applyPatch } from "../support/json-patch.ts";
import { createServingCa, issueServingCertificate } from "../../controller/pki/serving.ts";
import { privateKeyToPem } from "../../controller/pki/keys.ts";
import type { CertificateAuthority } from "../../controller/pki/ca.ts";
import { serveTls, type TlsServer } from "../../controller/serving/tls-server.ts";
import { createWebhookApp } from "../../controller/admission/app.ts";
import { desiredMutatingWebhookConfiguration, desiredValidatingWebhookConfiguration, joinPem, syncCaBundles } from "../../controller/admission/configurations.ts";
import { injectPod } from "../../controller/admission/injection.ts";
import type { InjectionConfig } from "../../controller/admission/injection-config.ts";
import type { ClusterMode } from "../../controller/admission/cluster-mode.ts";
import type { InjectionRecord } from "../../controller/policy/injection-record.ts";
import { findUninjected } from "../../controller/policy/uninjected.ts";
import { MSG_CLIENT_CERT_REF, MSG_TLS } from "../../controller/policy/validation.ts";
import { MSG_LICENSE, type LicensingObservation } from "../../controller/policy/license.ts";
import { eckLicensing } from "../support/cluster-fakes.ts";
import { INTENT_API_AUDIENCE } from "../../protocol/intent.ts";
import { esMode, esPod, injectionConfig, kibanaMode, kibanaPod } from "../support/eck-pods.ts";

const NS = "prod";
const CONTROLLER_NS = "es-mtls-system";

let cp: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let admission: k8s.AdmissionregistrationV1Api;
let server: TlsServer | undefined;
let servingCa: CertificateAuthority;

// What the "controller" knows; tests change these between cases.
const modes = new Map<string, ClusterMode>(); // "es:<ns>/<cluster>" or "kb:<ns>/<kibana>"
let licensing: LicensingObservation = eckLicensing("basic");
let config: InjectionConfig;
const decisions: string[] = [];

async function tls(ca: CertificateAuthority) {
  const leaf = await issueServingCertificate({ ca, dnsNames: ["localhost"], ipAddresses: ["127.0.0.1"] });
  return { cert: leaf.certificate.toString("pem"), key: await privateKeyToPem(leaf.privateKey) };
}

/** "<code> <Status.message>" of a refused request. */
function apiError(e: unknown): string {
  const err = e as { code?: number; body?: unknown; message?: string };
  let message = typeof err.body === "string" ? err.body : JSON.stringify(err.body ?? err.message);
  try {
    message = JSON.parse(message).message ?? message;
  } catch {}
  return `${err.code} ${message}`;
}

async function refusal(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (e) {
    return apiError(e);
  }
  throw new Error("expected the apiserver to refuse");
}

const ES = { group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches" };
const KB = { group: "kibana.k8s.elastic.co", version: "v1", plural: "kibanas" };

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  kc = cp.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  admission = kc.makeApiClient(k8s.AdmissionregistrationV1Api);
  for (const name of [NS, CONTROLLER_NS, "other"]) {
    // Labelled as the controller labels namespaces holding an active cluster (the namespaceSelector needs it).
    await core.createNamespace({ body: { metadata: { name, labels: { "mtls.es-mtls.io/active": "true" } } } });
    // No kube-controller-manager here: the ServiceAccount admission plugin needs "default" to exist.
    await core.createNamespacedServiceAccount({ namespace: name, body: { metadata: { name: "default" } } });
  }

  servingCa = await createServingCa();
  config = injectionConfig({ controllerCaPem: servingCa.certificate.toString("pem") });
  const app = createWebhookApp({
    injection: () => config,
    clusterMode: (pod) => {
      const labels = pod.metadata?.labels ?? {};
      const es = labels["elasticsearch.k8s.elastic.co/cluster-name"];
      const kb = labels["kibana.k8s.elastic.co/name"];
      return modes.get(es ? `es:${pod.metadata!.namespace}/${es}` : `kb:${pod.metadata!.namespace}/${kb}`);
    },
    licensing: () => licensing,
    onInjection: (pod, result) => decisions.push(`${pod.namespace}/${pod.name}: ${result.skipped ?? "injected"}`),
  });
  server = serveTls({ fetch: app.fetch, tls: await tls(servingCa) });

  // Registered without a caBundle, as deploy/webhooks.yaml is; the controller fills it in.
  const client = { url: server.url.toString() };
  await admission.createMutatingWebhookConfiguration({ body: desiredMutatingWebhookConfiguration({ client }) });
  await admission.createValidatingWebhookConfiguration({ body: desiredValidatingWebhookConfiguration({ client }) });

  modes.set(`es:${NS}/quickstart`, esMode(NS, "quickstart"));
  modes.set(`es:${CONTROLLER_NS}/quickstart`, esMode(CONTROLLER_NS, "quickstart"));
  modes.set(`kb:${NS}/kb`, kibanaMode(NS, "quickstart", { kibanaUserSecret: "my-kibana-client-cert" }));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await cp?.stop();
});

describe("caBundle sync", () => {
  test("fills in both configurations with server-side apply as es-mtls, then writes nothing while in sync", async () => {
    const caPem = servingCa.certificate.toString("pem");
    expect(await syncCaBundles(kc, caPem)).toEqual({ changed: ["MutatingWebhookConfiguration/es-mtls", "ValidatingWebhookConfiguration/es-mtls"], missing: [] });
    const m = await admission.readMutatingWebhookConfiguration({ name: "es-mtls" });
    const v = await admission.readValidatingWebhookConfiguration({ name: "es-mtls" });
    expect([...m.webhooks!, ...v.webhooks!].map((w) => w.clientConfig.caBundle)).toEqual(Array(3).fill(Buffer.from(joinPem(caPem)).toString("base64")));
    expect(m.metadata!.managedFields!.some((f) => f.manager === "es-mtls" && f.operation === "Apply")).toBe(true);
    // Everything else is untouched.
    expect(m.webhooks![0]!.failurePolicy).toBe("Fail");

    expect(await syncCaBundles(kc, caPem)).toEqual({ changed: [], missing: [] });
    const again = await admission.readMutatingWebhookConfiguration({ name: "es-mtls" });
    expect(again.metadata!.resourceVersion).toBe(m.metadata!.resourceVersion);
    expect(await syncCaBundles(kc, caPem, "absent")).toEqual({ changed: [], missing: ["MutatingWebhookConfiguration/absent", "ValidatingWebhookConfiguration/absent"] });

    // The apiserver picks the configuration up asynchronously: wait until a dry-run create is injected.
    await eventually(
      async () => {
        const pod = await core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "probe"), dryRun: "All" });
        expect(pod.metadata?.annotations?.["mtls.es-mtls.io/injected"]).toBeDefined();
      },
      { what: "webhook in effect", timeoutMs: 20_000, intervalMs: 200 },
    );
  }, 60_000);
});

describe("injection", () => {
  test("an Elasticsearch pod of an mTLS cluster is injected exactly as specified", async () => {
    const body = esPod(NS, "quickstart", "quickstart-es-default-0", {
      env: [{ name: "xpack.security.http.ssl.client_authentication", value: "optional" }],
    });
    const pod = await core.createNamespacedPod({ namespace: NS, body });
    const caPem = servingCa.certificate.toString("pem");

    const record = JSON.parse(pod.metadata!.annotations!["mtls.es-mtls.io/injected"]!) as InjectionRecord;
    expect(record).toEqual({
      version: 2,
      sidecar: "native",
      role: "elasticsearch",
      cluster: "prod/quickstart",
      phase: "Enabling",
      enforcement: "required",
      settings: {
        "xpack.security.http.ssl.client_authentication": "required",
        "xpack.security.http.ssl.certificate_authorities":
          "/usr/share/elasticsearch/config/http-certs/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
        CURL_HOME: "/usr/share/elasticsearch/config/es-mtls-probe",
      },
      overridden: ["xpack.security.http.ssl.client_authentication"],
    });
    expect(pod.metadata!.annotations!["mtls.es-mtls.io/controller-ca"]).toBe(caPem);

    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(["elastic-internal-init-filesystem", "es-mtls-agent"]);
    const agent = pod.spec!.initContainers![1]!;
    expect(agent.restartPolicy).toBe("Always");
    expect(agent.image).toBe("ghcr.io/es-mtls/agent:test");
    expect(agent.env).toEqual([
      { name: "ES_MTLS_CONTROLLER_URL", value: "https://es-mtls-controller.es-mtls-system.svc:8443" },
      { name: "ES_MTLS_CONTROLLER_CA", value: "/var/run/secrets/es-mtls/controller-ca.crt" },
      { name: "ES_MTLS_TOKEN_FILE", value: "/var/run/secrets/es-mtls/token" },
      { name: "ES_MTLS_ROLE", value: "elasticsearch" },
      { name: "ES_MTLS_DIR", value: "/usr/share/elasticsearch/config/client-trust-bundle" },
      { name: "ES_MTLS_FILE_MODE", value: "0440" },
      { name: "ES_MTLS_UID", value: "-1" },
      { name: "ES_MTLS_GID", value: "-1" },
      { name: "ES_MTLS_HEALTH_PORT", value: "8099" },
    ]);
    const probe = (path: string) => ({ httpGet: { path, port: 8099, scheme: "HTTP" }, timeoutSeconds: 2, successThreshold: 1 });
    expect(agent.startupProbe).toEqual({ ...probe("/startupz"), periodSeconds: 1, failureThreshold: 600 });
    expect(agent.readinessProbe).toEqual({ ...probe("/readyz"), periodSeconds: 5, failureThreshold: 3 });
    expect(agent.livenessProbe).toEqual({ ...probe("/healthz"), periodSeconds: 10, failureThreshold: 6 });
    expect(agent.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 1000,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(agent.resources).toEqual({ requests: { cpu: "10m", memory: "80Mi" }, limits: { cpu: "200m", memory: "160Mi" } });
    expect(agent.volumeMounts).toEqual([
      { name: "es-mtls-material", mountPath: "/usr/share/elasticsearch/config/client-trust-bundle" },
      { name: "es-mtls-agent", mountPath: "/var/run/secrets/es-mtls", readOnly: true },
      { name: "es-mtls-no-api-token", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
      { name: "es-mtls-probe", mountPath: "/usr/share/elasticsearch/config/es-mtls-probe" },
    ]);
    expect(agent.ports).toEqual([{ name: "mtls-health", containerPort: 8099, protocol: "TCP" }]);

    const volumes = Object.fromEntries(pod.spec!.volumes!.map((v) => [v.name, v]));
    expect(Object.keys(volumes)).toEqual(["elastic-internal-http-certificates", "es-mtls-material", "es-mtls-agent", "es-mtls-no-api-token", "es-mtls-probe"]);
    expect(volumes["es-mtls-probe"]!.emptyDir).toEqual({ medium: "Memory", sizeLimit: "1Mi" });
    expect(volumes["es-mtls-material"]!.emptyDir).toEqual({ medium: "Memory", sizeLimit: "4Mi" });
    const sources = volumes["es-mtls-agent"]!.projected!.sources!;
    expect(sources[0]!.serviceAccountToken).toEqual({ audience: INTENT_API_AUDIENCE, expirationSeconds: 3600, path: "token" });
    expect(sources[1]!.downwardAPI!.items).toEqual([
      { path: "controller-ca.crt", fieldRef: { apiVersion: "v1", fieldPath: "metadata.annotations['mtls.es-mtls.io/controller-ca']" } },
    ]);

    const es = pod.spec!.containers[0]!;
    expect(pod.spec!.containers.map((c) => c.name)).toEqual(["elasticsearch"]);
    expect(es.env).toEqual([
      { name: "POD_NAME", value: "quickstart-es-default-0" },
      { name: "xpack.security.http.ssl.client_authentication", value: "required" },
      {
        name: "xpack.security.http.ssl.certificate_authorities",
        value: "/usr/share/elasticsearch/config/http-certs/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
      },
      // curl in the container's own probes and hooks reads $CURL_HOME/.curlrc: the agent's local probe identity.
      { name: "CURL_HOME", value: "/usr/share/elasticsearch/config/es-mtls-probe" },
    ]);
    expect(es.volumeMounts).toEqual([
      { name: "elastic-internal-http-certificates", mountPath: "/usr/share/elasticsearch/config/http-certs", readOnly: true },
      { name: "es-mtls-material", mountPath: "/usr/share/elasticsearch/config/client-trust-bundle", readOnly: true },
      { name: "es-mtls-probe", mountPath: "/usr/share/elasticsearch/config/es-mtls-probe", readOnly: true },
    ]);
    expect([...pod.spec!.initContainers!, ...pod.spec!.containers].flatMap((c) => c.volumeMounts ?? []).some((m) => m.subPath)).toBe(false);

    // A second pass over the stored pod changes nothing.
    expect(injectPod(pod, esMode(NS, "quickstart"), config)).toEqual({ patch: [], skipped: "already injected" });
  });

  test("a Kibana pod gets its client certificate settings and the user's Secret (agent only)", async () => {
    const pod = await core.createNamespacedPod({ namespace: NS, body: kibanaPod(NS, "kb", "kb-kb-7d9f-abcde") });
    expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(["es-mtls-agent"]);
    expect(pod.spec!.containers[0]!.env!.map((e) => `${e.name}=${e.value}`)).toEqual([
      "ELASTICSEARCH_SSL_CERTIFICATE=/usr/share/kibana/config/elasticsearch-client-certs/tls.crt",
      "ELASTICSEARCH_SSL_KEY=/usr/share/kibana/config/elasticsearch-client-certs/tls.key",
      "ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE=true",
    ]);
    expect(pod.spec!.containers[0]!.volumeMounts!.map((m) => m.mountPath)).toEqual(["/usr/share/kibana/config/elasticsearch-client-certs"]);
    expect(pod.spec!.volumes!.find((v) => v.name === "es-mtls-user-client-cert")!.secret!.secretName).toBe("my-kibana-client-cert");
    expect(pod.spec!.initContainers![0]!.env).toContainEqual({ name: "ES_MTLS_PROBE_URL", value: "https://127.0.0.1:5601" });
  });

  test("the classic fallback is accepted by the apiserver too (dry run)", async () => {
    config = { ...config, sidecarMode: "classic" };
    try {
      const pod = await core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "classic"), dryRun: "All" });
      expect(pod.spec!.initContainers!.map((c) => `${c.name}:${c.restartPolicy ?? "-"}`)).toEqual(["elastic-internal-init-filesystem:-", "es-mtls-agent-init:-"]);
      expect(pod.spec!.containers.map((c) => c.name)).toEqual(["elasticsearch", "es-mtls-agent"]);
    } finally {
      config = { ...config, sidecarMode: "native" };
    }
  });

  test("a pod's agent-resources annotation: merged over the controller's; an invalid one admits the pod with the controller's and the apiserver relays the warning", async () => {
    const annotated = (name: string, value: string) => esPod(NS, "quickstart", name, { annotations: { "mtls.es-mtls.io/agent-resources": value } });
    const agentOf = (pod: k8s.V1Pod) => pod.spec!.initContainers!.find((c) => c.name === "es-mtls-agent")!;
    const merged = await core.createNamespacedPodWithHttpInfo({ namespace: NS, body: annotated("sized", '{"requests":{"memory":"96Mi"},"limits":{"memory":"192Mi"}}'), dryRun: "All" });
    expect(agentOf(merged.data).resources).toEqual({ requests: { cpu: "10m", memory: "96Mi" }, limits: { cpu: "200m", memory: "192Mi" } });
    expect(merged.headers["warning"]).toBeUndefined();
    // Patched in as written, the apiserver's validation (run by a dry run too) would refuse the pod for a limit below its request: admitted, with the defaults.
    const bad = await core.createNamespacedPodWithHttpInfo({ namespace: NS, body: annotated("oversized", '{"requests":{"memory":"1Gi"}}'), dryRun: "All" });
    expect(bad.httpStatusCode).toBe(201);
    expect(agentOf(bad.data).resources).toEqual({ requests: { cpu: "10m", memory: "80Mi" }, limits: { cpu: "200m", memory: "160Mi" } });
    expect(bad.headers["warning"]).toContain("mtls.es-mtls.io/agent-resources ignored, the controller's agent resources used: limits.memory 160Mi is below requests.memory 1Gi");
    const record = JSON.parse(bad.data.metadata!.annotations!["mtls.es-mtls.io/injected"]!) as InjectionRecord;
    expect(record.agentResourcesIgnored).toContain("limits.memory 160Mi is below requests.memory 1Gi");
    // What the fallback spares the pod: the same values in the agent, and the apiserver refuses it.
    const plain = esPod(NS, "quickstart", "refused");
    const refusedPod = applyPatch(plain, injectPod(plain, esMode(NS, "quickstart"), { ...config, resources: { requests: { cpu: "10m", memory: "1Gi" }, limits: { cpu: "200m", memory: "160Mi" } } }).patch as any) as k8s.V1Pod;
    expect(await refusal(() => core.createNamespacedPod({ namespace: CONTROLLER_NS, body: { ...refusedPod, metadata: { ...refusedPod.metadata, namespace: CONTROLLER_NS } }, dryRun: "All" }))).toContain("must be less than or equal to memory limit");
  });

  test("with the default service-account token mounted, the agent does not get the API credentials", async () => {
    const body = esPod(NS, "quickstart", "automount");
    body.spec!.automountServiceAccountToken = true;
    const pod = await core.createNamespacedPod({ namespace: NS, body, dryRun: "All" });
    const apiMount = (c: k8s.V1Container) => (c.volumeMounts ?? []).some((m) => m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount");
    expect(apiMount(pod.spec!.containers[0]!)).toBe(true); // the workload keeps its own
    const agent = pod.spec!.initContainers!.find((c) => c.name === "es-mtls-agent")!;
    expect(agent.volumeMounts!.filter((m) => m.mountPath === "/var/run/secrets/kubernetes.io/serviceaccount")).toEqual([
      { name: "es-mtls-no-api-token", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount", readOnly: true },
    ]);
    expect(apiMount(pod.spec!.containers[0]!) && pod.spec!.volumes!.some((v) => v.name.startsWith("kube-api-access-"))).toBe(true);
  });

  test("pods of another cluster, of the controller's namespace, or already injected are untouched", async () => {
    const untouched = async (namespace: string, body: k8s.V1Pod) => {
      const pod = await core.createNamespacedPod({ namespace, body });
      expect(pod.spec!.initContainers!.map((c) => c.name)).toEqual(body.spec!.initContainers!.map((c) => c.name));
      expect(pod.spec!.containers[0]!.env).toEqual(body.spec!.containers[0]!.env);
      expect(pod.spec!.volumes!.map((v) => v.name)).toEqual(body.spec!.volumes!.map((v) => v.name));
      return pod;
    };
    decisions.length = 0;
    await untouched(NS, esPod(NS, "other-cluster", "other-cluster-es-default-0"));
    expect(decisions).toEqual([`${NS}/other-cluster-es-default-0: not a pod of a cluster with client authentication`]);
    const own = await untouched(CONTROLLER_NS, esPod(CONTROLLER_NS, "quickstart", "quickstart-es-default-0"));
    expect(own.metadata!.annotations ?? {}).toEqual({});
    const withAgent = esPod(NS, "quickstart", "quickstart-es-default-1");
    withAgent.spec!.initContainers = [{ name: "es-mtls-agent", image: "es-mtls-agent:test" }];
    const marked = await untouched(NS, withAgent);
    expect(marked.spec!.initContainers!.map((c) => c.name)).toEqual(["es-mtls-agent"]);
    // The controller's namespace is excluded by the namespaceSelector: the webhook was not even called for it.
    expect(decisions).toEqual([`${NS}/other-cluster-es-default-0: not a pod of a cluster with client authentication`, `${NS}/quickstart-es-default-1: already injected`]);
    // A pod without ECK's labels never reaches the webhook (objectSelector).
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: "plain" }, spec: { containers: [{ name: "c", image: "x" }] } } });
    expect(decisions).toHaveLength(2);
  });
});

describe("validation", () => {
  const esBody = (name: string, tls: Record<string, unknown>) => ({
    apiVersion: "elasticsearch.k8s.elastic.co/v1",
    kind: "Elasticsearch",
    metadata: { name, namespace: NS },
    spec: { version: "9.4.0", http: { tls }, nodeSets: [{ name: "default", count: 1 }] },
  });
  const kbBody = (name: string, ref: Record<string, string>) => ({
    apiVersion: "kibana.k8s.elastic.co/v1",
    kind: "Kibana",
    metadata: { name, namespace: NS },
    spec: { version: "9.4.0", count: 1, elasticsearchRef: ref },
  });

  test("enabling client authentication without an enterprise license is refused with ECK's message", async () => {
    licensing = eckLicensing("basic");
    const message = await refusal(() => custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: esBody("nolicense", { client: { authentication: true } }) }));
    expect(message).toContain('admission webhook "elasticsearches.mtls.es-mtls.io" denied the request');
    expect(message).toContain(`spec.http.tls.client.authentication: Forbidden: ${MSG_LICENSE}`);
    // Off needs no license; turning it on by an update is refused as well.
    await custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: esBody("later", {}) });
    const update = await refusal(() =>
      custom.patchNamespacedCustomObject({ ...ES, namespace: NS, name: "later", body: [{ op: "add", path: "/spec/http/tls/client", value: { authentication: true } }] }),
    );
    expect(update).toContain(MSG_LICENSE);
  });

  test("with HTTP TLS disabled it is refused with ECK's message; with an enterprise trial a valid object passes", async () => {
    licensing = eckLicensing("enterprise_trial");
    const message = await refusal(() =>
      custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: esBody("notls", { client: { authentication: true }, selfSignedCertificate: { disabled: true } }) }),
    );
    expect(message).toContain(`spec.http.tls.client.authentication: Invalid value: true: ${MSG_TLS}`);
    expect(message).not.toContain(MSG_LICENSE);
    const created = (await custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: esBody("quickstart", { client: { authentication: true } }) })) as any;
    expect(created.spec.http.tls.client.authentication).toBe(true);
  });

  test("Kibana clientCertificateSecretName without name is refused; with name it passes", async () => {
    const message = await refusal(() =>
      custom.createNamespacedCustomObject({ ...KB, namespace: NS, body: kbBody("ext", { secretName: "external-es", clientCertificateSecretName: "mine" }) }),
    );
    expect(message).toContain('admission webhook "kibanas.mtls.es-mtls.io" denied the request');
    expect(message).toContain(`spec.elasticsearchRef: Forbidden: ${MSG_CLIENT_CERT_REF}`);
    const ok = (await custom.createNamespacedCustomObject({ ...KB, namespace: NS, body: kbBody("kb", { name: "quickstart", clientCertificateSecretName: "mine" }) })) as any;
    expect(ok.spec.elasticsearchRef.clientCertificateSecretName).toBe("mine");
  });
});

describe("serving certificate rotation", () => {
  test("a new serving CA: caBundle synced, server re-keyed, pods injected again with the new CA", async () => {
    const next = await createServingCa({ commonName: "es-mtls-controller-serving-ca-2" });
    const union = [servingCa.certificate.toString("pem"), next.certificate.toString("pem")];
    // Overlap: trust both, switch the server, then drop the old one.
    expect((await syncCaBundles(kc, union)).changed).toHaveLength(2);
    await eventually(async () => {
      const pod = await core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "probe"), dryRun: "All" });
      expect(pod.metadata?.annotations?.["mtls.es-mtls.io/injected"]).toBeDefined();
    });
    server!.updateTls(await tls(next));
    expect((await syncCaBundles(kc, next.certificate.toString("pem"))).changed).toHaveLength(2);
    servingCa = next;
    config = { ...config, controllerCaPem: next.certificate.toString("pem") };
    await eventually(
      async () => {
        const pod = await core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "rotated"), dryRun: "All" });
        expect(pod.metadata?.annotations?.["mtls.es-mtls.io/controller-ca"]).toBe(next.certificate.toString("pem"));
      },
      { what: "webhook served with the new CA", timeoutMs: 20_000, intervalMs: 200 },
    );
  }, 60_000);
});

describe("a pod's own container mounting an injected volume (issue 18 finding 3)", () => {
  test("refused through the apiserver with the reason; the same pod without that mount is injected", async () => {
    const pod = esPod(NS, "quickstart", "quickstart-es-default-7");
    pod.spec!.containers.push({ name: "exfil", image: "busybox", volumeMounts: [{ name: "es-mtls-probe", mountPath: "/steal", readOnly: true }] });
    const message = await refusal(() => core.createNamespacedPod({ namespace: NS, body: pod, dryRun: "All" }));
    expect(message).toContain('admission webhook "pods.mtls.es-mtls.io" denied the request');
    expect(message).toContain("containers exfil mounts volume es-mtls-probe");
    pod.spec!.containers[1]!.volumeMounts = [];
    const admitted = await core.createNamespacedPod({ namespace: NS, body: pod, dryRun: "All" });
    expect(admitted.metadata?.annotations?.["mtls.es-mtls.io/injected"]).toBeDefined();
    expect(admitted.spec!.containers.find((c) => c.name === "exfil")!.volumeMounts ?? []).toEqual([]);
  });
});

describe("webhook unreachable", () => {
  test("failurePolicy Fail refuses mTLS pods only; with Ignore they are admitted uninjected and uninjected.ts reports them", async () => {
    await server!.stop();
    server = undefined;

    const refused = await refusal(() => core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "quickstart-es-default-2") }));
    expect(refused).toContain('failed calling webhook "pods.mtls.es-mtls.io"');
    // Outside the selector nothing changes: other pods, and ES pods of the controller's namespace.
    await core.createNamespacedPod({ namespace: NS, body: { metadata: { name: "plain-2" }, spec: { containers: [{ name: "c", image: "x" }] } } });
    await core.createNamespacedPod({ namespace: CONTROLLER_NS, body: esPod(CONTROLLER_NS, "quickstart", "quickstart-es-default-1") });
    // Validation fails open (the reconciler applies the same rules): an invalid object is admitted.
    licensing = eckLicensing("basic");
    await custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: esBody("admitted", { client: { authentication: true } }) });

    const m = await admission.readMutatingWebhookConfiguration({ name: "es-mtls" });
    m.webhooks![0]!.failurePolicy = "Ignore";
    await admission.replaceMutatingWebhookConfiguration({ name: "es-mtls", body: m });
    await eventually(() => core.createNamespacedPod({ namespace: NS, body: esPod(NS, "quickstart", "quickstart-es-default-2") }), {
      what: "pod admitted under Ignore",
      timeoutMs: 20_000,
      intervalMs: 200,
    });

    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: "elasticsearch.k8s.elastic.co/cluster-name=quickstart" });
    const report = findUninjected({ namespace: NS, name: "quickstart" }, pods.items);
    expect(report?.pods).toEqual(["quickstart-es-default-2"]);
    expect(report?.message).toContain("quickstart-es-default-2");
  }, 60_000);
});

function esBody(name: string, tls: Record<string, unknown>) {
  return {
    apiVersion: "elasticsearch.k8s.elastic.co/v1",
    kind: "Elasticsearch",
    metadata: { name, namespace: NS },
    spec: { version: "9.4.0", http: { tls }, nodeSets: [{ name: "default", count: 1 }] },
  };
}
