// controller/policy/validation.ts and license.ts: ECK's validation rules and messages, the license levels.
import { describe, expect, test } from "bun:test";
import {
  MSG_CLIENT_CERT_REF,
  MSG_NAME_AND_SECRET_NAME,
  MSG_NAMESPACE_WITHOUT_NAME,
  MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE,
  MSG_SERVICE_NAME_WITHOUT_NAME,
  MSG_NODESET_REQUIRED,
  MSG_TLS,
  invalidMessage,
  validateElasticsearch,
  validateKibana,
} from "../../../controller/policy/validation.ts";
import { MSG_LICENSE, enterpriseFeaturesEnabled, licenseVerdict } from "../../../controller/policy/license.ts";

describe("validation (ECK's rules and messages)", () => {
  const es = (tls: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ metadata: { name: "q" }, spec: { version: "9.4.0", http: { tls }, ...extra } });
  const on = { client: { authentication: true } };
  /** ECK's rule with this level (undefined: no ConfigMap). */
  const eck = (level: string | undefined) =>
    licenseVerdict({ eck: "installed", namespace: "elastic-system", configMap: level === undefined ? undefined : { data: { eck_license_level: level } } });

  test("license levels that count as enterprise", () => {
    expect(["enterprise", "enterprise_trial", "enterprise-trial"].map((level) => enterpriseFeaturesEnabled({ level }))).toEqual([true, true, true]);
    expect(["basic", "", undefined].map((level) => enterpriseFeaturesEnabled({ level }))).toEqual([false, false, false]);
  });

  test("enabling without an enterprise license is forbidden; with one it passes; off needs no license", () => {
    expect(validateElasticsearch(es(on), eck("basic")).errors).toEqual([{ type: "Forbidden", field: "spec.http.tls.client.authentication", detail: MSG_LICENSE }]);
    expect(validateElasticsearch(es(on), eck("enterprise")).errors).toEqual([]);
    expect(validateElasticsearch(es({ client: { authentication: false } }), eck(undefined)).errors).toEqual([]);
  });

  test("TLS disabled is invalid, unless a user certificate keeps TLS on; both errors are reported together", () => {
    const off = { ...on, selfSignedCertificate: { disabled: true } };
    const result = validateElasticsearch(es(off), eck(undefined));
    expect(result.errors.map((e) => e.detail)).toEqual([MSG_TLS, MSG_LICENSE]);
    expect(invalidMessage("Elasticsearch", "elasticsearch.k8s.elastic.co", "q", result.errors)).toBe(
      `Elasticsearch.elasticsearch.k8s.elastic.co "q" is invalid: [spec.http.tls.client.authentication: Invalid value: true: ${MSG_TLS}, spec.http.tls.client.authentication: Forbidden: ${MSG_LICENSE}]`,
    );
    expect(validateElasticsearch(es({ ...off, certificate: { secretName: "mine" } }), eck("enterprise")).errors).toEqual([]);
  });

  test("client_authentication required in nodeSet config is a warning (nested or dotted)", () => {
    const dotted = es({}, { nodeSets: [{ name: "a", config: { "xpack.security.http.ssl.client_authentication": "required" } }] });
    const nested = es({}, { nodeSets: [{ name: "a", config: { xpack: { security: { http: { ssl: { client_authentication: "required" } } } } } }] });
    const optional = es({}, { nodeSets: [{ name: "a", config: { "xpack.security.http.ssl.client_authentication": "optional" } }] });
    expect([dotted, nested, optional].map((o) => validateElasticsearch(o, eck(undefined)).warnings)).toEqual([[MSG_NODESET_REQUIRED], [MSG_NODESET_REQUIRED], []]);
  });

  test("Kibana clientCertificateSecretName only with name", () => {
    const kb = (ref: Record<string, string>) => ({ spec: { elasticsearchRef: ref } });
    expect(validateKibana(kb({ secretName: "ext", clientCertificateSecretName: "c" })).errors).toEqual([{ type: "Forbidden", field: "spec.elasticsearchRef", detail: MSG_CLIENT_CERT_REF }]);
    expect(validateKibana(kb({ clientCertificateSecretName: "c" })).errors).toHaveLength(1);
    expect(validateKibana(kb({ name: "q", clientCertificateSecretName: "c" })).errors).toEqual([]);
    expect(validateKibana(kb({ secretName: "ext" })).errors).toEqual([]);
  });

  test("Kibana elasticsearchRef: ECK's ObjectSelector rules, in ECK's order, with ECK's words", () => {
    const kb = (ref: Record<string, string>) => ({ spec: { elasticsearchRef: ref } });
    const detail = (ref: Record<string, string>) => validateKibana(kb(ref)).errors.map((e) => e.detail);
    expect(detail({ name: "q", secretName: "ext", clientCertificateSecretName: "c" })).toEqual([MSG_NAME_AND_SECRET_NAME]);
    expect(detail({ name: "q", secretName: "ext" })).toEqual([MSG_NAME_AND_SECRET_NAME]);
    expect(detail({ secretName: "ext", namespace: "other" })).toEqual([MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE]);
    expect(detail({ secretName: "ext", serviceName: "svc" })).toEqual([MSG_SECRET_NAME_WITH_SERVICE_OR_NAMESPACE]);
    expect(detail({ serviceName: "svc" })).toEqual([MSG_SERVICE_NAME_WITHOUT_NAME]);
    expect(detail({ namespace: "other" })).toEqual([MSG_NAMESPACE_WITHOUT_NAME]);
    expect(detail({ name: "q", namespace: "other", serviceName: "svc" })).toEqual([]);
    expect(MSG_NAME_AND_SECRET_NAME).toBe("Invalid association reference: specify name or secretName, not both");
  });
});
