// Issue 8 item 2: probes and hooks of Elasticsearch pods that call it over HTTPS and would fail once
// client certificates are required refuse enabling, with the reason, before any pod is restarted;
// the official Helm chart's curl exec probe in the elasticsearch container is not among them.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describeHttpsProblems, httpsCallsThatWouldFail, needsProbeIdentity } from "../../../controller/policy/https-probes.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

/** The readiness probe of the official Elasticsearch Helm chart (elastic/helm-charts, statefulset.yaml), rendered. */
export const HELM_CHART_READINESS_SCRIPT = `set -e
if [ -z "\${ELASTIC_PASSWORD}" ]; then echo "ELASTIC_PASSWORD variable is missing, exiting"; exit 1; fi
START_FILE=/tmp/.es_start_file
export NSS_SDB_USE_CACHE=no
http () {
  local path="\${1}"
  local args="\${2}"
  set -- -XGET -s
  if [ "$args" != "" ]; then set -- "$@" $args; fi
  set -- "$@" -u "elastic:\${ELASTIC_PASSWORD}"
  curl --output /dev/null -k "$@" "https://127.0.0.1:9200\${path}"
}
if [ -f "\${START_FILE}" ]; then
  HTTP_CODE=$(http "/" "-w %{http_code}")
  [[ \${HTTP_CODE} == "200" ]] && exit 0 || exit 1
else
  if http "/_cluster/health?wait_for_status=green&timeout=1s" "--fail" ; then touch \${START_FILE}; exit 0; else exit 1; fi
fi`;

const withContainer = (name: string, c: Partial<V1Container>, sidecar: V1Container[] = []): V1Pod => {
  const pod = esPod(name, "none");
  pod.spec!.containers = [{ name: "elasticsearch", ...c }, ...sidecar];
  return pod;
};

describe("HTTPS probes and hooks under `required`", () => {
  test("the Helm chart's curl exec probe, tcpSocket and plain-HTTP checks pass; what cannot present a certificate is named", () => {
    const ok = [
      withContainer("chart", { readinessProbe: { exec: { command: ["bash", "-c", HELM_CHART_READINESS_SCRIPT] } } }),
      withContainer("tcp", { readinessProbe: { tcpSocket: { port: 9200 as never } }, livenessProbe: { httpGet: { path: "/", port: 8080 as never } } }),
    ];
    expect(httpsCallsThatWouldFail(ok)).toEqual([]);

    const bad = [
      withContainer("es-0", { readinessProbe: { httpGet: { path: "/_cluster/health", port: 9200 as never, scheme: "HTTPS" } } }),
      withContainer("es-1", { lifecycle: { preStop: { exec: { command: ["sh", "-c", "wget -q --no-check-certificate https://localhost:9200/_cluster/health"] } } } }),
      withContainer("es-2", { livenessProbe: { exec: { command: ["sh", "-c", "curl -q -k https://127.0.0.1:9200/"] } } }),
      withContainer("es-3", {}, [{ name: "exporter", livenessProbe: { exec: { command: ["curl", "-k", "https://127.0.0.1:9200/_cluster/health"] } } }]),
    ];
    const problems = httpsCallsThatWouldFail(bad);
    expect(problems.map((p) => [p.pod, p.container, p.where])).toEqual([
      ["es-0", "elasticsearch", "readinessProbe"],
      ["es-1", "elasticsearch", "lifecycle.preStop"],
      ["es-2", "elasticsearch", "livenessProbe"],
      ["es-3", "exporter", "livenessProbe"],
    ]);
    expect(problems[0]!.why).toContain("the kubelet presents no client certificate");
    expect(problems[1]!.why).toContain("without curl");
    expect(problems[2]!.why).toContain("-q/--disable");
    expect(describeHttpsProblems("ns/es", problems)).toContain("and 1 more");
  });

  test("enabling a cluster whose pod has an httpGet HTTPS readiness probe is refused: Blocked, Ready=False/ProbeWouldFail, a Warning Event, nothing written, no restart", async () => {
    const pod = withContainer("quickstart-es-default-0", { readinessProbe: { httpGet: { path: "/", port: 9200 as never, scheme: "HTTPS" } } });
    pod.metadata!.annotations = {}; // not injected yet: the cluster was never enabled
    const h = setup({ license: license("enterprise"), pods: [pod] });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    const ready = h.status()?.conditions?.find((c) => c.type === "Ready");
    expect(ready).toMatchObject({ status: "False", reason: "ProbeWouldFail" });
    expect(ready?.message).toContain(`Elasticsearch ${NS}/${ES_NAME}`);
    expect(ready?.message).toContain("pod quickstart-es-default-0 container elasticsearch readinessProbe: httpGet over HTTPS");
    expect(h.events.byKind.filter((e) => e.reason === "ProbeWouldFail").length).toBe(1);
    expect(h.writer.writes.filter((w) => w.includes("Secret") || w.includes("evict"))).toEqual([]);
    expect(h.intents.get(NS, pod.metadata!.name!)?.phase ?? "Blocked").toBe("Blocked"); // at most a retired intent

    // The same pod with a tcpSocket probe: enabling goes ahead.
    const fixed = withContainer("quickstart-es-default-0", { readinessProbe: { tcpSocket: { port: 9200 as never } } });
    fixed.metadata!.annotations = {};
    const h2 = setup({ license: license("enterprise"), pods: [fixed] });
    await h2.reconcile();
    expect(h2.status()?.phase).toBe("Enabling");
  });

  test("only a curl call over HTTPS from the elasticsearch container needs the probe identity (issue 18 finding 3)", () => {
    expect(needsProbeIdentity(withContainer("chart", { readinessProbe: { exec: { command: ["bash", "-c", HELM_CHART_READINESS_SCRIPT] } } }))).toBe(true);
    expect(needsProbeIdentity(withContainer("hook", { lifecycle: { postStart: { exec: { command: ["curl", "-k", "https://localhost:9200/"] } } } }))).toBe(true);
    expect(needsProbeIdentity(withContainer("tcp", { readinessProbe: { tcpSocket: { port: 9200 as never } } }))).toBe(false);
    expect(needsProbeIdentity(withContainer("plain", { readinessProbe: { exec: { command: ["curl", "http://127.0.0.1:9200/"] } } }))).toBe(false);
    expect(needsProbeIdentity(withContainer("skips", { readinessProbe: { exec: { command: ["sh", "-c", "curl -q -k https://127.0.0.1:9200/"] } } }))).toBe(false);
    expect(needsProbeIdentity(withContainer("httpget", { readinessProbe: { httpGet: { path: "/", port: 9200 as never, scheme: "HTTPS" } } }))).toBe(false);
    // A sidecar's curl gets no identity (it could not read the folder; https-probes refuses enabling instead).
    expect(needsProbeIdentity(withContainer("side", {}, [{ name: "exporter", livenessProbe: { exec: { command: ["curl", "-k", "https://127.0.0.1:9200/"] } } }]))).toBe(false);
  });
});
