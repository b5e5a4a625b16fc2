// Issue 19 item 5: the official Kibana chart's hook Jobs call Elasticsearch without a client
// certificate. A Kibana pod of that chart (its token from `<fullname>-es-token`, which the hooks
// write) refuses enabling before any restart, unless the Elasticsearch says the hooks are skipped.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describeKibanaChartHooksProblems, kibanaChartHooksWouldFail } from "../../../controller/policy/kibana-chart-hooks.ts";
import { KIBANA_CHART_HOOKS_ANNOTATION } from "../../../controller/names.ts";

const pod = (name: string, kb: Partial<V1Container>, container = "kibana"): V1Pod => ({ metadata: { name }, spec: { containers: [{ name: container, image: "docker.elastic.co/kibana/kibana:8.5.1", ...kb }] } });
const tokenFrom = (secret: string) => ({ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", valueFrom: { secretKeyRef: { name: secret, key: "token" } } });

describe("kibanaChartHooksWouldFail", () => {
  test("the chart's Kibana (token from <fullname>-es-token) is refused, naming the release its hook Jobs belong to", () => {
    expect(kibanaChartHooksWouldFail([pod("kibana-kibana-1", { env: [tokenFrom("kibana-kibana-es-token")] })])).toEqual([{ pod: "kibana-kibana-1", release: "kibana-kibana" }]);
  });

  test("not with the annotation saying the hooks are skipped; any other value still is", () => {
    const pods = [pod("k", { env: [tokenFrom("kb-kibana-es-token")] })];
    expect(kibanaChartHooksWouldFail(pods, { [KIBANA_CHART_HOOKS_ANNOTATION]: "no-hooks" })).toEqual([]);
    expect(kibanaChartHooksWouldFail(pods, { [KIBANA_CHART_HOOKS_ANNOTATION]: "true" })).toHaveLength(1);
  });

  test("a token from a Secret of another name, a literal token, a password login, or another container is not the chart's", () => {
    expect(kibanaChartHooksWouldFail([pod("k", { env: [tokenFrom("my-token")] })])).toEqual([]);
    expect(kibanaChartHooksWouldFail([pod("k", { env: [tokenFrom("-es-token")] })])).toEqual([]);
    expect(kibanaChartHooksWouldFail([pod("k", { env: [{ name: "ELASTICSEARCH_SERVICEACCOUNTTOKEN", value: "AAEAAW" }] })])).toEqual([]);
    expect(kibanaChartHooksWouldFail([pod("k", { env: [{ name: "ELASTICSEARCH_PASSWORD", valueFrom: { secretKeyRef: { name: "kibana-kibana-es-token", key: "token" } } }] })])).toEqual([]);
    expect(kibanaChartHooksWouldFail([pod("k", { env: [tokenFrom("kibana-kibana-es-token")] }, "sidecar")])).toEqual([]);
  });

  test("the message names the Jobs, the pods, why, and what to do", () => {
    const msg = describeKibanaChartHooksProblems("prod/es", [
      { pod: "a", release: "kibana-kibana" },
      { pod: "b", release: "kibana-kibana" },
      { pod: "c", release: "kibana-kibana" },
      { pod: "d", release: "kibana-kibana" },
    ]);
    expect(msg).toContain("Kibana pod(s) a, b, c and 1 more");
    expect(msg).toContain("(pre-install-kibana-kibana, post-delete-kibana-kibana)");
    expect(msg).toContain("no client certificate");
    expect(msg).toContain("--no-hooks");
    expect(msg).toContain(`${KIBANA_CHART_HOOKS_ANNOTATION}: "no-hooks"`);
  });
});
