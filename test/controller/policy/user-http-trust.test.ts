// Issue 19 item 5: an Elasticsearch whose own HTTP trust (a truststore, or CAs in an elasticsearch.yml
// the controller cannot read) cannot keep its CAs next to the injected bundle is refused before any
// restart; the official chart's defaults (certificate_authorities as a variable) are not.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { describeHttpTrustConflicts, esSettingName, httpTrustConflicts } from "../../../controller/policy/user-http-trust.ts";
import { ES_STATEFULSET_LABEL, ES_YML_HTTP_TRUST_ANNOTATION } from "../../../controller/names.ts";
import type { Elasticsearch } from "../../../controller/resources.ts";

const pod = (name: string, es: Partial<V1Container>, other: V1Container[] = []): V1Pod => ({
  metadata: { name },
  spec: { containers: [{ name: "elasticsearch", image: "docker.elastic.co/elasticsearch/elasticsearch:8.5.1", ...es }, ...other] },
});
const CHART_ENV = [{ name: "xpack.security.http.ssl.certificate_authorities", value: "/usr/share/elasticsearch/config/certs/ca.crt" }];
const annotated = (annotations: Record<string, string>): Elasticsearch => ({ metadata: { name: "es", namespace: "prod", uid: "u", annotations } });
const ES_CONFIG_MOUNT = { name: "esconfig", mountPath: "/usr/share/elasticsearch/config/elasticsearch.yml", subPath: "elasticsearch.yml" };

describe("httpTrustConflicts", () => {
  test("the chart's defaults (CAs in a variable, certs mounted beside) are kept, not refused", () => {
    expect(httpTrustConflicts([pod("es-0", { env: CHART_ENV, volumeMounts: [{ name: "elasticsearch-certs", mountPath: "/usr/share/elasticsearch/config/certs" }] })])).toEqual([]);
  });

  test("a truststore in the environment, in either spelling, is refused: the pod would not start", () => {
    const found = httpTrustConflicts([
      pod("es-0", { env: [{ name: "xpack.security.http.ssl.truststore.path", value: "certs/x.p12" }] }),
      pod("es-1", { env: [{ name: "ES_SETTING_XPACK_SECURITY_HTTP_SSL_TRUSTSTORE_PASSWORD", value: "pw" }] }),
    ]);
    expect(found.map((p) => p.pod)).toEqual(["es-0", "es-1"]);
    expect(found[0]!.why).toContain("xpack.security.http.ssl.truststore.path");
    expect(found[1]!.why).toContain("xpack.security.http.ssl.truststore.password");
    expect(found[0]!.why).toContain("would not start");
  });

  test("a transport truststore is no conflict (only HTTP's certificate_authorities is injected)", () => {
    expect(httpTrustConflicts([pod("es-0", { env: [{ name: "xpack.security.transport.ssl.truststore.path", value: "x.p12" }] })])).toEqual([]);
  });

  test("an elasticsearch.yml of its own (the chart's esConfig) is refused, unless the Elasticsearch says it holds no HTTP trust", () => {
    const pods = [pod("es-0", { env: CHART_ENV, volumeMounts: [ES_CONFIG_MOUNT] })];
    expect(httpTrustConflicts(pods).map((p) => p.why)).toEqual([expect.stringContaining("mounts its own elasticsearch.yml (volume esconfig)")]);
    expect(httpTrustConflicts(pods, annotated({ [ES_YML_HTTP_TRUST_ANNOTATION]: "none" }))).toEqual([]);
    expect(httpTrustConflicts(pods, annotated({ [ES_YML_HTTP_TRUST_ANNOTATION]: "yes" }))).toHaveLength(1);
    // A whole config folder mounted is the same; a file beside it is not.
    expect(httpTrustConflicts([pod("es-0", { volumeMounts: [{ name: "cfg", mountPath: "/usr/share/elasticsearch/config" }] })])).toHaveLength(1);
    expect(httpTrustConflicts([pod("es-0", { volumeMounts: [{ name: "jvm", mountPath: "/usr/share/elasticsearch/config/jvm.options.d/x", subPath: "x" }] })])).toEqual([]);
  });

  test("an elasticsearch.yml from a Secret (ECK's layout: its content is the nodeSet's config, which the controller reads) is not refused; from a ConfigMap, projected or unknown it is", () => {
    const withVolume = (volume: Record<string, unknown>): V1Pod => ({ ...pod("es-0", { volumeMounts: [{ name: "config", mountPath: "/usr/share/elasticsearch/config/elasticsearch.yml", subPath: "elasticsearch.yml" }] }), spec: { ...pod("es-0", { volumeMounts: [{ name: "config", mountPath: "/usr/share/elasticsearch/config/elasticsearch.yml", subPath: "elasticsearch.yml" }] }).spec!, volumes: [{ name: "config", ...volume }] } });
    expect(httpTrustConflicts([withVolume({ secret: { secretName: "quickstart-es-default-es-config" } })])).toEqual([]);
    expect(httpTrustConflicts([withVolume({ configMap: { name: "elasticsearch-master-config" } })])).toHaveLength(1);
    expect(httpTrustConflicts([withVolume({ projected: { sources: [] } })])).toHaveLength(1);
    expect(httpTrustConflicts([withVolume({})])).toHaveLength(1); // the pod cache keeps only Secret names of volumes
  });

  test("ECK's layout: a truststore in the pod's nodeSet config, in either spelling (dotted or nested), is refused; another nodeSet's is not this pod's", () => {
    const eckPod = (nodeSet: string): V1Pod => ({
      metadata: { name: `quickstart-es-${nodeSet}-0`, labels: { [ES_STATEFULSET_LABEL]: `quickstart-es-${nodeSet}` } },
      spec: { containers: [{ name: "elasticsearch", volumeMounts: [{ name: "elastic-internal-elasticsearch-config", mountPath: "/usr/share/elasticsearch/config/elasticsearch.yml", subPath: "elasticsearch.yml" }] }], volumes: [{ name: "elastic-internal-elasticsearch-config", secret: { secretName: `quickstart-es-${nodeSet}-es-config` } }] },
    });
    const es = (config: Record<string, unknown>): Elasticsearch => ({ metadata: { name: "quickstart", namespace: "prod", uid: "u" }, spec: { nodeSets: [{ name: "hot", config }, { name: "cold", config: {} }] } });
    const dotted = httpTrustConflicts([eckPod("hot"), eckPod("cold")], es({ "xpack.security.http.ssl.truststore.path": "certs/t.p12" }));
    expect(dotted).toEqual([{ pod: "quickstart-es-hot-0", why: expect.stringContaining("nodeSet hot config sets xpack.security.http.ssl.truststore.path") }]);
    expect(dotted[0]!.why).toContain("would not start");
    const nested = httpTrustConflicts([eckPod("hot")], es({ xpack: { security: { http: { ssl: { truststore: { path: "certs/t.p12", password: "pw" } } } } } }));
    expect(nested[0]?.why).toContain("xpack.security.http.ssl.truststore.path, xpack.security.http.ssl.truststore.password");
    expect(httpTrustConflicts([eckPod("hot")], es({ "xpack.security.http.ssl.certificate_authorities": ["/mine.crt"], xpack: { security: { transport: { ssl: { truststore: { path: "t.p12" } } } } } }))).toEqual([]);
  });

  test("the annotation never waives a truststore that can be seen", () => {
    expect(httpTrustConflicts([pod("es-0", { env: [{ name: "xpack.security.http.ssl.truststore.path", value: "x" }] })], annotated({ [ES_YML_HTTP_TRUST_ANNOTATION]: "none" }))).toHaveLength(1);
  });

  test("only the elasticsearch container counts", () => {
    expect(httpTrustConflicts([pod("es-0", {}, [{ name: "sidecar", env: [{ name: "xpack.security.http.ssl.truststore.path", value: "x" }], volumeMounts: [ES_CONFIG_MOUNT] }])])).toEqual([]);
  });

  test("the message names pods, cause and what to do", () => {
    const msg = describeHttpTrustConflicts("prod/es", [{ pod: "a", why: "w1" }, { pod: "b", why: "w2" }, { pod: "c", why: "w3" }, { pod: "d", why: "w4" }]);
    expect(msg).toContain("Elasticsearch prod/es");
    expect(msg).toContain("pod a: w1; pod b: w2; pod c: w3; and 1 more");
    expect(msg).toContain(`${ES_YML_HTTP_TRUST_ANNOTATION}: "none"`);
  });

  test("esSettingName: ES_SETTING_ spelling (__ is a literal underscore)", () => {
    expect(esSettingName("ES_SETTING_XPACK_SECURITY_HTTP_SSL_CERTIFICATE__AUTHORITIES")).toBe("xpack.security.http.ssl.certificate_authorities");
    expect(esSettingName("xpack.security.http.ssl.truststore.path")).toBe("xpack.security.http.ssl.truststore.path");
  });
});
