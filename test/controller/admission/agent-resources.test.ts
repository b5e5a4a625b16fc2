// controller/admission/agent-resources.ts: a pod's mtls.es-mtls.io/agent-resources annotation merged
// over the controller's agent resources; an invalid one is never applied and never refuses the pod:
// the defaults go in, and the reason comes back as a warning, in the injection record and (app.ts)
// in the AdmissionReview's warnings.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { injectPod } from "../../../controller/admission/injection.ts";
import { createWebhookApp } from "../../../controller/admission/app.ts";
import { injectionRecord } from "../../../controller/policy/injection-record.ts";
import { WEBHOOK_PATHS } from "../../../controller/names.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, esPod, injectionConfig, kibanaMode, kibanaPod } from "../../support/eck-pods.ts";

const ANNOTATION = "mtls.es-mtls.io/agent-resources";
const DEFAULTS = { requests: { cpu: "10m", memory: "80Mi" }, limits: { cpu: "200m", memory: "160Mi" } };
const config = injectionConfig();

const agents = (pod: V1Pod): V1Container[] => [...(pod.spec?.initContainers ?? []), ...pod.spec!.containers].filter((c) => c.name.startsWith("es-mtls-agent"));

function inject(annotation: string | undefined, c = config) {
  const pod = esPod("prod", "quickstart", "quickstart-es-default-0", annotation === undefined ? {} : { annotations: { [ANNOTATION]: annotation } });
  const result = injectPod(pod, esMode("prod", "quickstart"), c);
  const out = applyPatch(pod, result.patch as any) as V1Pod;
  return { result, agent: agents(out)[0]!, out };
}

describe("a valid annotation", () => {
  test("without one: the controller's resources, no warning, nothing in the record", () => {
    const { result, agent, out } = inject(undefined);
    expect(config.resources).toEqual(DEFAULTS);
    expect(agent.resources).toEqual(DEFAULTS);
    expect(result.warnings).toBeUndefined();
    expect(injectionRecord(out)!.agentResourcesIgnored).toBeUndefined();
  });

  test("merged over the controller's: what it names replaced, the rest kept", () => {
    const { result, agent } = inject('{"requests":{"memory":"96Mi"},"limits":{"memory":"192Mi"}}');
    expect(agent.resources).toEqual({ requests: { cpu: "10m", memory: "96Mi" }, limits: { cpu: "200m", memory: "192Mi" } });
    expect(result.warnings).toBeUndefined();
    // A number where a quantity goes, as the apiserver takes it in a pod spec; an empty object changes nothing.
    expect(inject('{"limits":{"cpu":1}}').agent.resources).toEqual({ ...DEFAULTS, limits: { cpu: "1", memory: "160Mi" } });
    expect(inject("{}").agent.resources).toEqual(DEFAULTS);
  });

  test("over other controller flags, and in both agents of the classic layout and a Kibana pod's", () => {
    const own = injectionConfig({ sidecarMode: "classic", resources: { requests: { cpu: "50m", memory: "100Mi" }, limits: { cpu: "1", memory: "300Mi" } } });
    const pod = esPod("prod", "quickstart", "p", { annotations: { [ANNOTATION]: '{"limits":{"memory":"256Mi"}}' } });
    const out = applyPatch(pod, injectPod(pod, esMode("prod", "quickstart"), own).patch as any) as V1Pod;
    expect(agents(out).map((c) => [c.name, c.resources])).toEqual([
      ["es-mtls-agent-init", { requests: { cpu: "50m", memory: "100Mi" }, limits: { cpu: "1", memory: "256Mi" } }],
      ["es-mtls-agent", { requests: { cpu: "50m", memory: "100Mi" }, limits: { cpu: "1", memory: "256Mi" } }],
    ]);
    const kb = kibanaPod("prod", "kb", "kb-kb-1");
    kb.metadata!.annotations = { [ANNOTATION]: '{"requests":{"cpu":"20m"}}' };
    const kbOut = applyPatch(kb, injectPod(kb, kibanaMode("prod", "quickstart"), config).patch as any) as V1Pod;
    expect(agents(kbOut)[0]!.resources).toEqual({ ...DEFAULTS, requests: { cpu: "20m", memory: "80Mi" } });
  });
});

describe("an invalid annotation: the pod is injected with the controller's resources and told why", () => {
  const cases: Array<[string, string, string]> = [
    ["not JSON", '{requests:{memory:"96Mi"}}', "not JSON"],
    ["not an object", '["96Mi"]', "not a JSON object with requests and/or limits"],
    ["an unknown key", '{"request":{"memory":"96Mi"}}', 'unknown key "request" (requests, limits)'],
    ["an unknown resource", '{"requests":{"ephemeral-storage":"1Gi"}}', 'unknown key requests."ephemeral-storage" (cpu, memory)'],
    ["requests not an object", '{"requests":"96Mi"}', "requests is not an object of cpu and/or memory"],
    ["not a quantity", '{"requests":{"memory":"96MB"}}', 'requests.memory "96MB" is not a Kubernetes quantity'],
    ["a negative quantity", '{"limits":{"cpu":-1}}', "limits.cpu -1 is not a Kubernetes quantity"],
    ["a limit below its request once merged", '{"requests":{"memory":"256Mi"}}', "limits.memory 160Mi is below requests.memory 256Mi"],
    ["a limit below its own request", '{"requests":{"cpu":"1"},"limits":{"cpu":"500m"}}', "limits.cpu 500m is below requests.cpu 1"],
  ];
  for (const [what, value, reason] of cases) {
    test(what, () => {
      const { result, agent, out } = inject(value);
      expect(result.refused).toBeUndefined();
      expect(result.patch.length).toBeGreaterThan(0);
      expect(agent.resources).toEqual(DEFAULTS);
      expect(result.warnings).toHaveLength(1);
      expect(result.warnings![0]).toStartWith(`es-mtls: annotation ${ANNOTATION} ignored, the controller's agent resources used: `);
      expect(result.warnings![0]).toContain(reason);
      expect(injectionRecord(out)!.agentResourcesIgnored).toBe(result.warnings![0]!.slice("es-mtls: ".length));
    });
  }

  test("the author's text is echoed cut short", () => {
    const { result } = inject(JSON.stringify({ requests: { memory: "9".repeat(500) + "Q" } }));
    expect(result.warnings![0]!.length).toBeLessThan(250);
    expect(result.warnings![0]).toContain("…");
  });

  test("a pod that is not injected gets no warning: the annotation is not read", () => {
    const pod = esPod("prod", "quickstart", "p", { annotations: { [ANNOTATION]: "{" } });
    expect(injectPod(pod, undefined, config)).toEqual({ patch: [], skipped: "not a pod of a cluster with client authentication" });
  });

  test("the webhook admits it with its patch and the warning in the AdmissionReview", async () => {
    const app = createWebhookApp({ injection: () => config, clusterMode: () => esMode("prod", "quickstart"), licensing: () => ({ eck: "off" }) });
    const pod = esPod("prod", "quickstart", "p", { annotations: { [ANNOTATION]: '{"requests":{"memory":"1Gi"}}' } });
    const review = { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request: { uid: "u1", kind: { kind: "Pod" }, operation: "CREATE", namespace: "prod", object: pod } };
    const res = await app.fetch(new Request(`https://webhook${WEBHOOK_PATHS.mutatePods}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(review) }));
    const { response } = (await res.json()) as { response: { allowed: boolean; patch?: string; warnings?: string[] } };
    expect(response.allowed).toBe(true);
    expect(response.warnings).toEqual([`es-mtls: annotation ${ANNOTATION} ignored, the controller's agent resources used: limits.memory 160Mi is below requests.memory 1Gi (after merging over the controller's)`]);
    const out = applyPatch(pod, JSON.parse(Buffer.from(response.patch!, "base64").toString()));
    expect(agents(out as V1Pod)[0]!.resources).toEqual(DEFAULTS);
  });
});
