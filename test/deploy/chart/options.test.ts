// deploy/chart/'s options render what values.yaml says they do: another namespace moves every
// namespaced object and every reference to it; ECK's Role only when asked; the standalone CRDs,
// the agents' NetworkPolicy, the ServiceMonitor and the PrometheusRule (on metrics that exist).
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { V1Deployment } from "@kubernetes/client-node";
import { loadConfig } from "../../../controller/config.ts";
import { deployFile, identity, kustomization, renderChart, skipReason, type KubeObject } from "../../support/helm-chart.ts";

if (skipReason) console.error(`skipping deploy/chart options: ${skipReason}`);

const ROOT = join(import.meta.dir, "..", "..", "..");
const CLUSTER_SCOPED = new Set(["Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding"]);
const container = (objects: KubeObject[]) => (objects.find((o) => o.kind === "Deployment") as unknown as V1Deployment).spec!.template.spec!.containers[0]!;
const withoutKeep = (o: KubeObject) => {
  const c = structuredClone(o);
  delete c.metadata.annotations;
  return c;
};

describe.skipIf(!!skipReason)("deploy/chart options", () => {
  test("namespace.name moves every namespaced object, the webhooks' Service, their exclusion and the admission policy", () => {
    const objects = renderChart({ "namespace.name": "mtls-ops", "agentNetworkPolicy.namespaces": "{search}" });
    const text = JSON.stringify(objects);
    expect(text).not.toContain("es-mtls-system");
    const namespaced = objects.filter((o) => !CLUSTER_SCOPED.has(o.kind) && o.metadata.name !== "es-mtls-agent-health");
    expect(namespaced.length).toBeGreaterThan(8);
    expect(namespaced.filter((o) => o.metadata.namespace !== "mtls-ops").map(identity)).toEqual([]);
    expect(objects.find((o) => o.kind === "Namespace")!.metadata.name).toBe("mtls-ops");
    const webhooks = objects.filter((o) => o.kind.endsWith("WebhookConfiguration")).flatMap((o) => o.webhooks as { name: string; clientConfig: { service: { namespace: string } }; namespaceSelector?: { matchExpressions: { values: string[] }[] } }[]);
    expect(webhooks.map((w) => w.clientConfig.service.namespace)).toEqual(["mtls-ops", "mtls-ops", "mtls-ops"]);
    expect(webhooks.find((w) => w.name === "pods.mtls.es-mtls.io")!.namespaceSelector!.matchExpressions[0]!.values).toEqual(["mtls-ops", "kube-system"]);
    expect(text).toContain("system:serviceaccount:mtls-ops:es-mtls-controller");
    const agentPolicy = objects.find((o) => o.metadata.name === "es-mtls-agent-health")!;
    expect(agentPolicy.metadata.namespace).toBe("search");
    expect(JSON.stringify(agentPolicy)).toContain('"kubernetes.io/metadata.name":"mtls-ops"');
  });

  test("namespace.create=false leaves the Namespace out; namespace.keep=false lets an uninstall delete it", () => {
    expect(renderChart({ "namespace.create": "false" }).filter((o) => o.kind === "Namespace")).toEqual([]);
    expect(renderChart().find((o) => o.kind === "Namespace")!.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    expect(renderChart({ "namespace.keep": "false" }).find((o) => o.kind === "Namespace")!.metadata.annotations).toBeUndefined();
  });

  test("ECK's licence Role only with eck.licenseRbac, as deploy/eck/ has it, in eck.operatorNamespace", () => {
    const eck = kustomization("eck");
    const on = renderChart({ "eck.licenseRbac": "true" }).filter((o) => o.metadata.namespace === "elastic-system");
    expect(on).toEqual(eck);
    const elsewhere = renderChart({ "eck.licenseRbac": "true", "eck.operatorNamespace": "eck-operator" });
    expect(elsewhere.filter((o) => o.metadata.namespace === "eck-operator").map((o) => o.kind)).toEqual(["Role", "RoleBinding"]);
    expect(container(elsewhere).env!.find((e) => e.name === "ES_MTLS_OPERATOR_NAMESPACE")!.value).toBe("eck-operator");
    const noEck = renderChart({ "eck.licenseRbac": "true", "eck.operatorNamespace": "" });
    expect(noEck.filter((o) => o.kind === "Role" && o.metadata.name.includes("eck")).map(identity)).toEqual([]);
  });

  test("standaloneCrds.enabled adds deploy/standalone-crds/'s CRDs, kept on uninstall, and the admission policy their objects answer to", () => {
    const rendered = renderChart({ "standaloneCrds.enabled": "true" });
    const crds = rendered.filter((o) => o.kind === "CustomResourceDefinition");
    const shipped = kustomization("standalone-crds");
    const standalone = shipped.filter((o) => o.kind === "CustomResourceDefinition");
    expect(standalone.length).toBe(2);
    const policy = shipped.filter((o) => o.kind !== "CustomResourceDefinition");
    expect(policy.map((o) => o.kind).sort()).toEqual(["ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "ValidatingAdmissionPolicyBinding"]);
    for (const p of policy) expect(rendered.find((o) => o.kind === p.kind && o.metadata.name === p.metadata.name)).toEqual(p);
    expect(renderChart({}).some((o) => o.metadata.name === "es-mtls-standalone-unmanaged-by-eck")).toBe(false);
    for (const s of standalone) {
      const c = crds.find((o) => o.metadata.name === s.metadata.name);
      expect(c?.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
      expect(c && withoutKeep(c)).toEqual(s);
    }
  });

  test("agentNetworkPolicy.namespaces: deploy/agent-networkpolicy.yaml in each", () => {
    const shipped = deployFile("agent-networkpolicy.yaml")[0]!;
    const policies = renderChart({ "agentNetworkPolicy.namespaces": "{search,logs}" }).filter((o) => o.metadata.name === "es-mtls-agent-health");
    expect(policies.map((p) => p.metadata.namespace)).toEqual(["search", "logs"]);
    for (const p of policies) expect({ ...p, metadata: { ...p.metadata, namespace: undefined } }).toEqual({ ...shipped, metadata: { ...shipped.metadata, namespace: undefined } });
  });

  test("admissionPolicy and networkPolicy can be left out", () => {
    const kinds = renderChart({ "admissionPolicy.enabled": "false", "networkPolicy.enabled": "false" }).map((o) => o.kind);
    expect(kinds).not.toContain("ValidatingAdmissionPolicy");
    expect(kinds).not.toContain("ValidatingAdmissionPolicyBinding");
    expect(kinds).not.toContain("NetworkPolicy");
    expect(kinds).toContain("Deployment");
  });

  test("the controller's values reach its Deployment and the webhooks", () => {
    const objects = renderChart(
      { replicas: "3", priorityClassName: "system-cluster-critical", logLevel: "debug", "webhook.failurePolicy": "Ignore", "webhook.timeoutSeconds": "5", "image.agent": "registry.local/agent:2", "image.pullPolicy": "Always", "resources.limits.memory": "512Mi" },
      ["--set-json", 'extraArgs=["--resync=1m"]'],
    );
    const d = objects.find((o) => o.kind === "Deployment") as unknown as V1Deployment;
    expect(d.spec!.replicas).toBe(3);
    expect(d.spec!.template.spec!.priorityClassName).toBe("system-cluster-critical");
    const c = container(objects);
    expect(c.args).toEqual(["--resync=1m"]);
    expect(c.imagePullPolicy).toBe("Always");
    expect(c.resources!.limits!.memory).toBe("512Mi");
    const env = Object.fromEntries(c.env!.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({ ES_MTLS_LOG_LEVEL: "debug", ES_MTLS_WEBHOOK_FAILURE_POLICY: "Ignore", ES_MTLS_AGENT_IMAGE: "registry.local/agent:2" });
    const pod = (objects.find((o) => o.kind === "MutatingWebhookConfiguration")!.webhooks as { failurePolicy: string; timeoutSeconds: number }[])[0]!;
    expect(pod).toMatchObject({ failurePolicy: "Ignore", timeoutSeconds: 5 });
  });

  test("priorityClass.create ships a PriorityClass the controller's pods use; none by default; never with priorityClassName too", () => {
    const objects = renderChart({ "priorityClass.create": "true", "priorityClass.value": "500000" });
    const pc = objects.filter((o) => o.kind === "PriorityClass");
    expect(pc.map((o) => [o.metadata.name, o.value, o.globalDefault, o.preemptionPolicy])).toEqual([["es-mtls-controller", 500000, false, "PreemptLowerPriority"]]);
    const d = objects.find((o) => o.kind === "Deployment") as unknown as V1Deployment;
    expect(d.spec!.template.spec!.priorityClassName).toBe("es-mtls-controller");
    expect(renderChart({ "priorityClass.create": "true" }).find((o) => o.kind === "PriorityClass")!.value).toBe(1000000000);
    const defaults = renderChart();
    expect(defaults.filter((o) => o.kind === "PriorityClass")).toEqual([]);
    expect((defaults.find((o) => o.kind === "Deployment") as unknown as V1Deployment).spec!.template.spec!.priorityClassName).toBeUndefined();
    expect(() => renderChart({ "priorityClass.create": "true", priorityClassName: "system-cluster-critical" })).toThrow("set priorityClassName or priorityClass.create, not both");
  });

  test("agent.resources reach the controller as its --agent-* flags' variables, which it reads as the injected agent's resources", () => {
    const c = container(renderChart({ "agent.resources.requests.memory": "96Mi", "agent.resources.limits.memory": "192Mi", "agent.resources.limits.cpu": "1" }));
    const env = Object.fromEntries(c.env!.filter((e) => e.name.startsWith("ES_MTLS_AGENT_")).map((e) => [e.name, e.value!]));
    expect(env).toMatchObject({ ES_MTLS_AGENT_CPU_REQUEST: "10m", ES_MTLS_AGENT_MEMORY_REQUEST: "96Mi", ES_MTLS_AGENT_CPU_LIMIT: "1", ES_MTLS_AGENT_MEMORY_LIMIT: "192Mi" });
    expect(loadConfig([], env).agentResources).toEqual({ requests: { cpu: "10m", memory: "96Mi" }, limits: { cpu: "1", memory: "192Mi" } });
  });

  test("serviceMonitor: a metrics Service the ServiceMonitor selects, on the controller's health port, and a PodMonitor for the agents' port", () => {
    const objects = renderChart({ "serviceMonitor.enabled": "true", "serviceMonitor.labels.release": "prom" });
    const service = objects.find((o) => o.kind === "Service" && o.metadata.name === "es-mtls-controller-metrics")!;
    const monitor = objects.find((o) => o.kind === "ServiceMonitor")!;
    const spec = monitor.spec as { selector: { matchLabels: Record<string, string> }; endpoints: { port: string }[] };
    expect(service.metadata.labels).toMatchObject(spec.selector.matchLabels);
    expect((service.spec as { ports: { name: string; targetPort: string }[] }).ports.map((p) => p.name)).toEqual(spec.endpoints.map((e) => e.port));
    expect(container(objects).ports!.map((p) => p.name)).toContain("health");
    expect(monitor.metadata.labels).toMatchObject({ release: "prom" });
    const pods = objects.find((o) => o.kind === "PodMonitor")!.spec as { podMetricsEndpoints: { port: string }[] };
    // The port name injection gives the agent's container.
    expect(readFileSync(join(ROOT, "controller/admission/agent-container.ts"), "utf8")).toContain(`name: "${pods.podMetricsEndpoints[0]!.port}"`);
    expect(renderChart().map((o) => o.kind)).not.toContain("ServiceMonitor");
  });

  test("prometheusRule: alerts on certificate expiry, failed proofs, webhook errors and a stuck transition, on metrics es-mtls exports", () => {
    const rule = renderChart({ "prometheusRule.enabled": "true" }).find((o) => o.kind === "PrometheusRule")!;
    const rules = (rule.spec as { groups: { rules: { alert: string; expr: string }[] }[] }).groups.flatMap((g) => g.rules);
    expect(rules.map((r) => r.alert)).toEqual(expect.arrayContaining(["EsMtlsClientCaExpiresSoon", "EsMtlsAgentCertificateExpiresSoon", "EsMtlsProofFailed", "EsMtlsWebhookErrors", "EsMtlsTransitionStuck"]));
    const exported = readFileSync(join(ROOT, "controller/metrics.ts"), "utf8") + readFileSync(join(ROOT, "agent/report/metrics.ts"), "utf8");
    const used = new Set(rules.flatMap((r) => r.expr.match(/\bes_mtls_[a-z_]+/g) ?? []));
    expect(used.size).toBeGreaterThan(5);
    for (const m of used) expect({ metric: m, exported: exported.includes(`"${m}"`) }).toEqual({ metric: m, exported: true });
    expect(rules.find((r) => r.alert === "EsMtlsWebhookErrors")!.expr).toContain('name=~".+[.]mtls[.]es-mtls[.]io"');
    expect(renderChart().map((o) => o.kind)).not.toContain("PrometheusRule");
  });
});
