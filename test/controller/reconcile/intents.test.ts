// Issue 18 findings 3 and 5: the identities an Elasticsearch pod's intent asks for. The probe identity
// (CN es-mtls-probe, its key on a volume the Elasticsearch container reads) only where a probe or hook
// of that container calls Elasticsearch over HTTPS with curl, and valid for hours; the proof identity
// (in the agent's memory, re-made at will) valid for at most 2 h; Kibana's keeps --agent-cert-validity,
// because Kibana reads it only at start and a renewal costs a restart.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { elasticsearchIntent, type ClusterIntentInput } from "../../../controller/reconcile/intents.ts";
import { kibanaIdentity } from "../../../controller/reconcile/kibana.ts";
import type { Kibana } from "../../../controller/resources.ts";
import { ES_NAME, NS, esPod } from "../../support/cluster-fakes.ts";
import { ES_READINESS_SCRIPT } from "../../e2e/helm-chart/charts.ts";

const WEEK_S = 168 * 3600;
const input: ClusterIntentInput = { generation: 3, cluster: { namespace: NS, name: ES_NAME }, phase: "Enabled", bundle: { pem: "x", sha256: "y" }, certValiditySeconds: WEEK_S };

/** An injected Elasticsearch pod (the probe folder's volume) whose elasticsearch container is `es`. */
function pod(name: string, es: Partial<V1Container>, probeVolume = true): V1Pod {
  const p = esPod(name, "required");
  p.spec!.containers = [{ name: "elasticsearch", ...es }];
  if (probeVolume) p.spec!.volumes = [{ name: "es-mtls-probe", emptyDir: { medium: "Memory" } }];
  return p;
}

describe("the probe identity goes only where a probe needs it (issue 18 finding 3)", () => {
  test("the Helm chart's curl readiness probe gets it; a tcpSocket probe, no probe, curl -q, a pod without the probe folder get none", () => {
    const chart = elasticsearchIntent(pod("chart", { readinessProbe: { exec: { command: ["bash", "-c", ES_READINESS_SCRIPT] } } }), input);
    expect(chart.probe?.identity.subject).toEqual({ commonName: "es-mtls-probe", organizationalUnit: ES_NAME });
    const hook = elasticsearchIntent(pod("hook", { lifecycle: { preStop: { exec: { command: ["sh", "-c", "curl -k https://127.0.0.1:9200/_cluster/health"] } } } }), input);
    expect(hook.probe).toBeDefined();

    expect(elasticsearchIntent(pod("tcp", { readinessProbe: { tcpSocket: { port: 9200 as never } } }), input).probe).toBeUndefined();
    expect(elasticsearchIntent(pod("none", {}), input).probe).toBeUndefined();
    expect(elasticsearchIntent(pod("http", { readinessProbe: { exec: { command: ["curl", "-f", "http://127.0.0.1:9200/"] } } }), input).probe).toBeUndefined();
    expect(elasticsearchIntent(pod("skips", { readinessProbe: { exec: { command: ["sh", "-c", "curl -q -k https://127.0.0.1:9200/"] } } }), input).probe).toBeUndefined();
    expect(elasticsearchIntent(pod("old", { readinessProbe: { exec: { command: ["bash", "-c", ES_READINESS_SCRIPT] } } }, false), input).probe).toBeUndefined();
  });

  test("it is valid for hours, not --agent-cert-validity, and renewed at half its life; a shorter setting still caps it", () => {
    const probe = elasticsearchIntent(pod("chart", { readinessProbe: { exec: { command: ["bash", "-c", ES_READINESS_SCRIPT] } } }), input).probe!;
    expect(probe.identity.validitySeconds).toBe(4 * 3600);
    expect(probe.identity.renewAtFraction).toBe(1 / 2);
    const short = elasticsearchIntent(pod("chart", { readinessProbe: { exec: { command: ["bash", "-c", ES_READINESS_SCRIPT] } } }), { ...input, certValiditySeconds: 75 }).probe!;
    expect(short.identity.validitySeconds).toBe(75);
  });
});

describe("a pod's identity does not outlive it by days (issue 18 finding 5)", () => {
  test("an Elasticsearch pod's proof identity is valid for 2 h (renewed at 2/3), capped by a shorter --agent-cert-validity", () => {
    const intent = elasticsearchIntent(pod("es", {}), input);
    expect(intent.identity).toMatchObject({ source: "managed", subject: { commonName: "es-mtls-proof" }, validitySeconds: 2 * 3600, renewAtFraction: 2 / 3 });
    expect(elasticsearchIntent(pod("es", {}), { ...input, certValiditySeconds: 75 }).identity).toMatchObject({ validitySeconds: 75 });
  });

  test("Kibana's managed identity keeps --agent-cert-validity (a renewal restarts Kibana)", () => {
    const kb = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb", namespace: NS, uid: "kb-uid" }, spec: { elasticsearchRef: { name: ES_NAME } } } as Kibana;
    const id = kibanaIdentity(kb, undefined, { certValiditySeconds: WEEK_S });
    expect(id.ok && id.identity).toMatchObject({ source: "managed", validitySeconds: WEEK_S });
  });
});
