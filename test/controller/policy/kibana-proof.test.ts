// Issue 19 item 5: the agent proves a Kibana restart from Kibana's uptime, which /api/status gives
// without a login only with status.allowAnonymous. A Kibana configured through the environment (the
// official chart) without STATUS_ALLOWANONYMOUS=true is refused before any restart.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describeKibanaProofProblems, kibanaProofUnavailable } from "../../../controller/policy/kibana-proof.ts";

const pod = (name: string, kb: Partial<V1Container>): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: "kibana", image: "docker.elastic.co/kibana/kibana:8.5.1", ...kb }] } });
const CHART_ENV = [
  { name: "ELASTICSEARCH_HOSTS", value: "https://elasticsearch-master:9200" },
  { name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: "kibana-kibana-es-token", key: "token" } } },
];

describe("kibanaProofUnavailable", () => {
  test("the chart's Kibana as rendered (no STATUS_ALLOWANONYMOUS) is refused", () => {
    expect(kibanaProofUnavailable([pod("kibana-kibana-1", { env: CHART_ENV })])).toEqual([{ pod: "kibana-kibana-1" }]);
  });

  test("with STATUS_ALLOWANONYMOUS=true (the chart's extraEnvs) it is not; any other value still is", () => {
    expect(kibanaProofUnavailable([pod("k", { env: [...CHART_ENV, { name: "STATUS_ALLOWANONYMOUS", value: "true" }] })])).toEqual([]);
    expect(kibanaProofUnavailable([pod("k", { env: [...CHART_ENV, { name: "STATUS_ALLOWANONYMOUS", value: "false" }] })])).toHaveLength(1);
  });

  test("a Kibana configured through its own kibana.yml, or not by ELASTICSEARCH_HOSTS, is not judged (unreadable)", () => {
    expect(kibanaProofUnavailable([pod("k", { env: CHART_ENV, volumeMounts: [{ name: "kibanaconfig", mountPath: "/usr/share/kibana/config/kibana.yml", subPath: "kibana.yml" }] })])).toEqual([]);
    expect(kibanaProofUnavailable([pod("k", {})])).toEqual([]);
  });

  test("the message says why and what to set", () => {
    const msg = describeKibanaProofProblems("prod/es", [{ pod: "a" }, { pod: "b" }, { pod: "c" }, { pod: "d" }]);
    expect(msg).toContain("Kibana pod(s) a, b, c and 1 more");
    expect(msg).toContain("status.allowAnonymous: true");
    expect(msg).toContain("STATUS_ALLOWANONYMOUS=true");
  });
});
