import { describe, expect, test } from "bun:test";
import type { V1OwnerReference, V1Secret } from "@kubernetes/client-node";
import { selectClientCertificateSecrets, type OwnerCandidate } from "../../../controller/trust/sources.ts";
import { desiredTrustBundleSecret, isUpToDate, trustBundleDrift } from "../../../controller/trust/target.ts";
import { TRUST_BUNDLE_HASH_ANNOTATION, TRUST_BUNDLE_KEY } from "../../../controller/names.ts";

const cluster = { namespace: "elastic", name: "quickstart" };
const kibana: OwnerCandidate = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", namespace: "apps", name: "kb", uid: "uid-kb" };
const kibanaElsewhere: OwnerCandidate = { ...kibana, namespace: "other", uid: "uid-kb-other" };
const kibanaOnlyElsewhere: OwnerCandidate = { ...kibana, name: "kb2", namespace: "other", uid: "uid-kb2" };
const configMapOwner: OwnerCandidate = { apiVersion: "v1", kind: "ConfigMap", namespace: "apps", name: "cm", uid: "uid-cm" };
const spoofGroup: OwnerCandidate = { apiVersion: "kibana.k8s.elastic.co.evil.io/v1", kind: "Kibana", namespace: "apps", name: "kb", uid: "uid-evil" };
const owners = [kibana, kibanaElsewhere, kibanaOnlyElsewhere, configMapOwner, spoofGroup];

const eckLabels = {
  "eck.k8s.elastic.co/client-certificate": "true",
  "eck.k8s.elastic.co/owner-name": "quickstart",
  "eck.k8s.elastic.co/owner-namespace": "elastic",
  "eck.k8s.elastic.co/owner-kind": "Elasticsearch",
};
const ownerRef = (owner: OwnerCandidate, uid = owner.uid): V1OwnerReference => ({ apiVersion: owner.apiVersion, kind: owner.kind, name: owner.name, uid });

function labelled(name: string, options: { labels?: Record<string, string>; refs?: V1OwnerReference[]; namespace?: string } = {}): V1Secret {
  return {
    metadata: { name, namespace: options.namespace ?? "apps", labels: options.labels ?? eckLabels, ownerReferences: options.refs ?? [ownerRef(kibana)] },
    data: { "tls.crt": "" },
  };
}

describe("client-certificate Secret selection", () => {
  const secrets = [
    labelled("verified"),
    labelled("wrong-uid", { refs: [ownerRef(kibana, "uid-stale")] }),
    labelled("owner-other-namespace", { refs: [ownerRef(kibanaOnlyElsewhere)] }),
    labelled("non-eck-group", { refs: [ownerRef(configMapOwner)] }),
    labelled("lookalike-group", { refs: [ownerRef(spoofGroup)] }),
    labelled("no-owner-refs", { refs: [] }),
    labelled("owner-missing", { refs: [{ ...ownerRef(kibana), name: "gone" }] }),
    labelled("missing-client-cert-label", { labels: { ...eckLabels, "eck.k8s.elastic.co/client-certificate": "false" } }),
    labelled("missing-kind-label", { labels: { ...eckLabels, "eck.k8s.elastic.co/owner-kind": "Kibana" } }),
    labelled("other-cluster", { labels: { ...eckLabels, "eck.k8s.elastic.co/owner-name": "another" } }),
    labelled("other-cluster-namespace", { labels: { ...eckLabels, "eck.k8s.elastic.co/owner-namespace": "apps" } }),
    labelled("no-labels", { labels: {} }),
    // Spoofed: perfect labels, an ownerReference copied from the real Secret, but placed in a
    // namespace where that Kibana does not live.
    labelled("spoofed-in-attacker-namespace", { namespace: "attacker", refs: [ownerRef(kibana)] }),
    labelled("one-good-ref-among-bad", { refs: [ownerRef(configMapOwner), ownerRef(kibana, "uid-stale"), ownerRef(kibana)] }),
  ];
  const result = selectClientCertificateSecrets(secrets, owners, cluster);
  const reasonOf = (name: string) => [...result.rejected, ...result.ignored].find((r) => r.secret.metadata!.name === name)?.reason;

  test("selects only Secrets with ECK labels and a verified ECK ownerReference, sorted", () => {
    expect(result.selected.map((s) => s.metadata!.name)).toEqual(["one-good-ref-among-bad", "verified"]);
  });

  test("wrong UID", () => expect(reasonOf("wrong-uid")).toMatch(/owner Kibana kb .* has UID uid-kb, the ownerReference says uid-stale/));
  test("owner only in another namespace", () => {
    expect(reasonOf("owner-other-namespace")).toMatch(/owner Kibana kb2 .* exists only in namespace other, not in the Secret's namespace apps/);
    expect(reasonOf("spoofed-in-attacker-namespace")).toMatch(/exists only in namespace apps, other, not in the Secret's namespace attacker/);
  });
  test("non-ECK API group, including a look-alike suffix", () => {
    expect(reasonOf("non-eck-group")).toMatch(/no ownerReference to an object of an API group ending in ".k8s.elastic.co"/);
    expect(reasonOf("lookalike-group")).toMatch(/no ownerReference to an object of an API group ending in/);
    expect(reasonOf("no-owner-refs")).toMatch(/no ownerReference/);
  });
  test("owner that does not exist", () => expect(reasonOf("owner-missing")).toMatch(/owner Kibana gone .* not found in namespace apps/));
  test("missing or wrong labels", () => {
    expect(reasonOf("missing-client-cert-label")).toMatch(/client-certificate is "false", want "true"/);
    expect(reasonOf("missing-kind-label")).toMatch(/owner-kind is "Kibana", want "Elasticsearch"/);
    expect(result.ignored.map((r) => r.secret.metadata!.name).sort()).toEqual(["no-labels", "other-cluster", "other-cluster-namespace"]);
    expect(reasonOf("no-labels")).toMatch(/not elastic\/quickstart/);
  });
});

describe("trust bundle target Secret", () => {
  const es = { namespace: "elastic", name: "quickstart", uid: "uid-es" };
  const bundle = { pem: "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", sha256: "abc" };
  const desired = desiredTrustBundleSecret(es, bundle);

  test("has ECK's name and key, the hash annotation and a controller ownerReference to the Elasticsearch", () => {
    expect(desired.metadata!.name).toBe("quickstart-es-client-trust-bundle");
    expect(desired.metadata!.namespace).toBe("elastic");
    expect(atob(desired.data![TRUST_BUNDLE_KEY]!)).toBe(bundle.pem);
    expect(TRUST_BUNDLE_KEY).toBe("client-trust-bundle.crt");
    expect(desired.metadata!.annotations![TRUST_BUNDLE_HASH_ANNOTATION]).toBe("abc");
    expect(desired.metadata!.ownerReferences).toEqual([
      { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: "quickstart", uid: "uid-es", controller: true, blockOwnerDeletion: true },
    ]);
  });

  test("isUpToDate skips writes when only foreign metadata differs, and catches every managed difference", () => {
    const stored = structuredClone(desired);
    stored.metadata!.labels!["someone-else"] = "x";
    stored.metadata!.annotations!["kubectl.kubernetes.io/last-applied-configuration"] = "{}";
    stored.metadata!.resourceVersion = "42";
    stored.data!["extra"] = "eA==";
    expect(isUpToDate(stored, desired)).toBe(true);
    expect(isUpToDate(undefined, desired)).toBe(false);

    const changedData = structuredClone(stored);
    changedData.data![TRUST_BUNDLE_KEY] = btoa("other");
    expect(trustBundleDrift(changedData, desired)).toEqual(["data client-trust-bundle.crt differs"]);
    const changedHash = structuredClone(stored);
    changedHash.metadata!.annotations![TRUST_BUNDLE_HASH_ANNOTATION] = "def";
    expect(trustBundleDrift(changedHash, desired)).toEqual([`annotation ${TRUST_BUNDLE_HASH_ANNOTATION} differs`]);
    const lostOwner = structuredClone(stored);
    lostOwner.metadata!.ownerReferences = [{ ...desired.metadata!.ownerReferences![0]!, uid: "uid-old-es" }];
    expect(trustBundleDrift(lostOwner, desired)[0]).toMatch(/ownerReference to Elasticsearch quickstart \(uid uid-es\) missing/);
  });
});
