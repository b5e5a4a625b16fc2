// Issue 8 item 2: a pod of the official Elasticsearch Helm chart's StatefulSet, labelled as the README
// asks, is injected like an ECK pod, keeping what the chart configured: its HTTP CA
// (config/certs/ca.crt, as the container's own variable) is carried on with the bundle appended and
// not reported as overridden, its curl probe is untouched, and CURL_HOME points at the probe folder
// the agent writes and the container mounts read-only.
import { expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { injectPod } from "../../../controller/admission/injection.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, injectionConfig } from "../../support/eck-pods.ts";
import { ES_READINESS_SCRIPT, esStatefulSet } from "../../e2e/helm-chart/charts.ts";

test("a Helm-chart pod keeps its HTTP CA and probe, and gets CURL_HOME and the probe folder", () => {
  const template = esStatefulSet().spec!.template;
  const pod: V1Pod = { apiVersion: "v1", kind: "Pod", metadata: { ...template.metadata, name: "elasticsearch-master-0", namespace: "prod" }, spec: template.spec! };
  const { patch, record, skipped } = injectPod(pod, esMode("prod", "elasticsearch"), injectionConfig());
  expect(skipped).toBeUndefined();
  const out = applyPatch(pod, patch as any);
  const es = out.spec!.containers.find((c) => c.name === "elasticsearch")!;
  const env = Object.fromEntries((es.env ?? []).map((e) => [e.name, e.value]));
  expect(env["xpack.security.http.ssl.certificate_authorities"]).toBe("/usr/share/elasticsearch/config/certs/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt");
  expect(env["xpack.security.http.ssl.client_authentication"]).toBe("required");
  expect(env.CURL_HOME).toBe("/usr/share/elasticsearch/config/es-mtls-probe");
  expect(env["xpack.security.http.ssl.key"]).toBe("/usr/share/elasticsearch/config/certs/tls.key"); // the chart's, kept
  expect(record!.overridden).toEqual([]); // nothing of the chart's is lost, so no SettingIneffective Event
  expect(es.readinessProbe!.exec!.command).toEqual(["bash", "-c", ES_READINESS_SCRIPT]);
  expect(es.volumeMounts).toContainEqual({ name: "es-mtls-probe", mountPath: "/usr/share/elasticsearch/config/es-mtls-probe", readOnly: true });
  const agent = out.spec!.initContainers!.find((c) => c.name === "es-mtls-agent")!;
  expect(agent.volumeMounts).toContainEqual({ name: "es-mtls-probe", mountPath: "/usr/share/elasticsearch/config/es-mtls-probe" });
  expect(agent.securityContext?.runAsUser).toBe(1000); // the chart's runAsUser
  expect(out.spec!.volumes!.find((v) => v.name === "es-mtls-probe")?.emptyDir).toEqual({ medium: "Memory", sizeLimit: "1Mi" });
});
