// deploy/agent-networkpolicy.yaml (issue 18 finding 7): the optional per-namespace policy for the
// agents' health port. No network plugin enforces it here, so this reads the rendered policy and
// evaluates it with NetworkPolicy's ingress rules (a selected pod admits a connection when any rule
// admits both its port and its source; policies add up). That the apiserver accepts it is checked
// by test/integration/deploy-manifests.test.ts's dry run.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { V1LabelSelector } from "@kubernetes/client-node";
import { DEFAULT_AGENT_HEALTH_PORT } from "../../protocol/agent-env.ts";
import { CONTROLLER_NAMESPACE, ECK_TYPE_LABEL, NAMESPACE_NAME_LABEL } from "../../controller/names.ts";
import { esPod, kibanaPod } from "../support/eck-pods.ts";

// The manifest's own shape (client-node's V1NetworkPolicyIngressRule spells `from` as `_from`).
interface Port {
  port?: number | string;
  endPort?: number;
  protocol?: string;
}
interface Peer {
  namespaceSelector?: V1LabelSelector;
  podSelector?: V1LabelSelector;
  ipBlock?: unknown;
}
interface NetworkPolicy {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
  spec: { podSelector: V1LabelSelector; policyTypes?: string[]; ingress?: { ports?: Port[]; from?: Peer[] }[] };
}

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
const policy = parse(readFileSync(join(DEPLOY, "agent-networkpolicy.yaml"), "utf8")) as NetworkPolicy;
const MONITORING = { "mtls.es-mtls.io/monitoring": "true" };

function selects(selector: V1LabelSelector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = e.key in labels;
    if (e.operator === "In" && !(has && e.values!.includes(labels[e.key]!))) return false;
    if (e.operator === "NotIn" && has && e.values!.includes(labels[e.key]!)) return false;
    if (e.operator === "Exists" && !has) return false;
    if (e.operator === "DoesNotExist" && has) return false;
  }
  return true;
}

const portMatches = (p: Port, port: number, protocol: string) =>
  (p.protocol ?? "TCP") === protocol && (p.port === undefined || (typeof p.port === "number" && port >= p.port && port <= (p.endPort ?? p.port)));

interface Source {
  /** The source pod's namespace's labels (kubernetes.io/metadata.name included). */
  namespace: Record<string, string>;
  pod: Record<string, string>;
  /** Whether the source is in the policy's own namespace (a peer with only a podSelector means that). */
  sameNamespace: boolean;
}

/** Whether the policy admits a connection from `source` to `port`/`protocol` of a pod labelled `target`. */
function admits(target: Record<string, string>, port: number, protocol: string, source: Source): boolean {
  if (!selects(policy.spec.podSelector, target)) return true; // not selected: not isolated by this policy
  return (policy.spec.ingress ?? []).some((rule) => {
    if (rule.ports?.length && !rule.ports.some((p) => portMatches(p, port, protocol))) return false;
    if (!rule.from?.length) return true;
    return rule.from.some((peer) => {
      if (peer.ipBlock) return false;
      if (peer.namespaceSelector) return selects(peer.namespaceSelector, source.namespace) && (!peer.podSelector || selects(peer.podSelector, source.pod));
      return source.sameNamespace && selects(peer.podSelector ?? {}, source.pod);
    });
  });
}

const ns = (name: string, labels: Record<string, string> = {}) => ({ [NAMESPACE_NAME_LABEL]: name, ...labels });
const from = (namespace: Record<string, string>, pod: Record<string, string> = {}, sameNamespace = false): Source => ({ namespace, pod, sameNamespace });
const es = esPod("prod", "quickstart", "quickstart-es-default-0").metadata!.labels!;
const kb = kibanaPod("prod", "kb", "kb-kb-5d9f-abcde").metadata!.labels!;

describe("deploy/agent-networkpolicy.yaml", () => {
  test("is one Ingress NetworkPolicy without a namespace (applied per workload namespace), not in the kustomization", () => {
    expect(policy.apiVersion).toBe("networking.k8s.io/v1");
    expect(policy.kind).toBe("NetworkPolicy");
    expect(policy.metadata.namespace).toBeUndefined();
    expect(policy.spec.policyTypes).toEqual(["Ingress"]);
    const kustomization = readFileSync(join(DEPLOY, "kustomization.yaml"), "utf8");
    expect((parse(kustomization) as { resources: string[] }).resources).not.toContain("agent-networkpolicy.yaml");
    expect(kustomization).toContain("kubectl apply -n <namespace> -f deploy/agent-networkpolicy.yaml");
  });

  test("selects the pods injection gives an agent (Elasticsearch and Kibana as ECK labels them), nothing else", () => {
    expect(selects(policy.spec.podSelector, es)).toBe(true);
    expect(selects(policy.spec.podSelector, kb)).toBe(true);
    expect(es[ECK_TYPE_LABEL]).toBe("elasticsearch");
    expect(selects(policy.spec.podSelector, { app: "web" })).toBe(false);
    expect(selects(policy.spec.podSelector, { [ECK_TYPE_LABEL]: "apm-server" })).toBe(false);
  });

  test("the agent's port admits only the controller's namespace and monitoring namespaces", () => {
    const port = DEFAULT_AGENT_HEALTH_PORT;
    for (const target of [es, kb]) {
      expect(admits(target, port, "TCP", from(ns(CONTROLLER_NAMESPACE), { "app.kubernetes.io/name": "es-mtls-controller" }))).toBe(true);
      expect(admits(target, port, "TCP", from(ns("monitoring", MONITORING), { app: "prometheus" }))).toBe(true);
      // Refused: any other pod, in its own namespace (even another Elasticsearch pod) or elsewhere.
      expect(admits(target, port, "TCP", from(ns("prod"), { app: "web" }, true))).toBe(false);
      expect(admits(target, port, "TCP", from(ns("prod"), es, true))).toBe(false);
      expect(admits(target, port, "TCP", from(ns("tenant"), kb))).toBe(false);
      // A namespace named like a monitoring one, without the label, or with the label set otherwise.
      expect(admits(target, port, "TCP", from(ns("monitoring", { "mtls.es-mtls.io/monitoring": "false" })))).toBe(false);
    }
  });

  test("every other port and protocol of those pods stays open to everyone", () => {
    const anyone = [from(ns("prod"), { app: "web" }, true), from(ns("tenant"), {}), from(ns(CONTROLLER_NAMESPACE))];
    const ports: Array<[number, string]> = [
      [9200, "TCP"], [9300, "TCP"], [5601, "TCP"], [1, "TCP"], [8098, "TCP"], [8100, "TCP"], [65535, "TCP"], [53, "UDP"], [8099, "UDP"], [9200, "SCTP"],
    ];
    const closed: string[] = [];
    for (const target of [es, kb]) for (const [port, protocol] of ports) for (const s of anyone) if (!admits(target, port, protocol, s)) closed.push(`${port}/${protocol}`);
    expect(closed).toEqual([]);
    // Exactly TCP 8099 is held back: the TCP ranges cover 1–65535 but it.
    const tcp = policy.spec.ingress!.flatMap((r) => (r.from ? [] : (r.ports ?? []).filter((p) => (p.protocol ?? "TCP") === "TCP")));
    const covered = new Set<number>();
    for (const p of tcp) for (let n = p.port as number; n <= (p.endPort ?? (p.port as number)); n++) covered.add(n);
    expect(covered.size).toBe(65534);
    expect(covered.has(DEFAULT_AGENT_HEALTH_PORT)).toBe(false);
  });
});
