// deploy/networkpolicy.yaml (issue 9 item 11): shipped in the kustomization, selects the
// controller's pods as deploy/deployment.yaml labels them, and admits per port only who needs it.
// That the apiserver accepts it is checked by test/integration/deploy-manifests.test.ts's dry run.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { V1Deployment, V1LabelSelector } from "@kubernetes/client-node";

// The manifest's own shape (client-node's V1NetworkPolicyIngressRule spells `from` as `_from`).
interface Peer {
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
}
interface NetworkPolicy {
  apiVersion: string;
  kind: string;
  metadata: { namespace?: string };
  spec: { podSelector: V1LabelSelector; policyTypes?: string[]; ingress?: { ports?: { port: string | number }[]; from?: Peer[] }[] };
}

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
const load = <T>(file: string): T => parse(readFileSync(join(DEPLOY, file), "utf8")) as T;

const policy = load<NetworkPolicy>("networkpolicy.yaml");
const deployment = load<V1Deployment>("deployment.yaml");
const containerPorts = deployment.spec!.template.spec!.containers.flatMap((c) => c.ports ?? []);

/** The peers admitted to a named container port (undefined `from` = everyone). */
function peersOf(portName: string): Peer[] | "anyone" {
  const rules = (policy.spec.ingress ?? []).filter((r) => (r.ports ?? []).some((p) => p.port === portName));
  expect(rules.length).toBe(1);
  return rules[0]!.from ?? "anyone";
}

describe("deploy/networkpolicy.yaml", () => {
  test("is a NetworkPolicy listed in the kustomization, in the controller's namespace", () => {
    expect(policy.apiVersion).toBe("networking.k8s.io/v1");
    expect(policy.kind).toBe("NetworkPolicy");
    expect(load<{ resources: string[] }>("kustomization.yaml").resources).toContain("networkpolicy.yaml");
    expect(policy.metadata.namespace).toBe(deployment.metadata!.namespace!);
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
  });

  test("selects the controller's pods by the labels of the Deployment's pod template", () => {
    const selector = policy.spec.podSelector;
    expect(selector.matchExpressions ?? []).toEqual([]);
    expect(Object.keys(selector.matchLabels ?? {}).length).toBeGreaterThan(0);
    const podLabels = deployment.spec!.template.metadata!.labels!;
    for (const [k, v] of Object.entries(selector.matchLabels!)) expect(podLabels[k]).toBe(v);
  });

  test("every port it names is a container port, and every container port has exactly one rule", () => {
    const named = (policy.spec.ingress ?? []).flatMap((r) => (r.ports ?? []).map((p) => p.port));
    expect(named.sort()).toEqual(containerPorts.map((p) => p.name!).sort());
  });

  test("the intent API admits only pods labelled as Elasticsearch or Kibana, from any namespace", () => {
    const peers = peersOf("intent-api");
    expect(peers).not.toBe("anyone");
    expect(peers).toEqual([
      { namespaceSelector: {}, podSelector: { matchExpressions: [{ key: "common.k8s.elastic.co/type", operator: "In", values: ["elasticsearch", "kibana"] }] } },
    ]);
  });

  test("the webhook port admits anyone (the kube-apiserver's address cannot be selected)", () => {
    expect(peersOf("webhook")).toBe("anyone");
  });

  test("health and metrics admit only namespaces labelled for monitoring", () => {
    expect(peersOf("health")).toEqual([{ namespaceSelector: { matchLabels: { "mtls.es-mtls.io/monitoring": "true" } } }]);
  });
});
