// Which clusters a changed object affects (controller/routing.ts): the change handler queues a
// reconcile of each. Labels are spelled out: they are ECK's and es-mtls's contract, not constants.
import { describe, expect, test } from "bun:test";
import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import type { Elasticsearch, Kibana } from "../../controller/resources.ts";
import { allClusters, clustersOf, intentClustersOf } from "../../controller/routing.ts";
import { FakeCache } from "../support/cluster-fakes.ts";

function es(namespace: string, name: string): Elasticsearch {
  return { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { namespace, name, uid: `${namespace}-${name}` } };
}
function kibana(namespace: string, name: string, ref?: { name: string; namespace?: string }): Kibana {
  return { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { namespace, name }, spec: ref ? { elasticsearchRef: ref } : {} } as Kibana;
}
function meta(namespace: string, labels: Record<string, string> = {}, name = "x"): KubernetesObject {
  return { metadata: { namespace, name, labels } };
}

function caches() {
  const elasticsearch = new FakeCache<Elasticsearch>();
  const kibanas = new FakeCache<Kibana>();
  for (const e of [es("prod", "quickstart"), es("prod", "logs"), es("dev", "quickstart")]) elasticsearch.put(e);
  kibanas.put(kibana("apps", "kb", { name: "logs", namespace: "prod" }));
  kibanas.put(kibana("dev", "kb-dev", { name: "quickstart" }));
  return { elasticsearch, kibana: kibanas };
}

describe("clustersOf", () => {
  const c = caches();

  test("an Elasticsearch or its ClientAuthentication: that cluster", () => {
    expect(clustersOf(c, "elasticsearch", es("prod", "quickstart"))).toEqual(["prod/quickstart"]);
    expect(clustersOf(c, "clientauth", meta("prod", {}, "quickstart"))).toEqual(["prod/quickstart"]);
  });

  test("a Kibana: the cluster its elasticsearchRef names, in the ref's namespace or else its own", () => {
    expect(clustersOf(c, "kibana", kibana("apps", "kb", { name: "logs", namespace: "prod" }))).toEqual(["prod/logs"]);
    expect(clustersOf(c, "kibana", kibana("apps", "kb", { name: "logs" }))).toEqual(["apps/logs"]);
    expect(clustersOf(c, "kibana", kibana("apps", "kb"))).toEqual([]);
  });

  test("a labelled client-certificate Secret: its owner, in the owner's namespace or else its own", () => {
    const owner = { "eck.k8s.elastic.co/owner-name": "quickstart" };
    expect(clustersOf(c, "clientCertSecret", meta("apps", { ...owner, "eck.k8s.elastic.co/owner-namespace": "prod" }))).toEqual(["prod/quickstart"]);
    expect(clustersOf(c, "clientCertSecret", meta("apps", owner))).toEqual(["apps/quickstart"]);
    expect(clustersOf(c, "clientCertSecret", meta("apps"))).toEqual([]);
  });

  test("an es-mtls Secret: a client CA names its cluster by labels (over the cluster label), others by the cluster label", () => {
    const ca = { "mtls.es-mtls.io/client-ca-of-namespace": "prod", "mtls.es-mtls.io/client-ca-of-name": "quickstart" };
    expect(clustersOf(c, "managedSecret", meta("es-mtls-system", ca))).toEqual(["prod/quickstart"]);
    expect(clustersOf(c, "managedSecret", meta("es-mtls-system", { ...ca, "elasticsearch.k8s.elastic.co/cluster-name": "other" }))).toEqual(["prod/quickstart"]);
    expect(clustersOf(c, "managedSecret", meta("prod", { "elasticsearch.k8s.elastic.co/cluster-name": "logs" }))).toEqual(["prod/logs"]);
    expect(clustersOf(c, "managedSecret", meta("prod"))).toEqual([]);
  });

  test("a pod: its cluster label, or its Kibana's ref", () => {
    const pod = (namespace: string, labels: Record<string, string>) => meta(namespace, labels) as V1Pod;
    expect(clustersOf(c, "pod", pod("prod", { "elasticsearch.k8s.elastic.co/cluster-name": "logs" }))).toEqual(["prod/logs"]);
    expect(clustersOf(c, "pod", pod("apps", { "kibana.k8s.elastic.co/name": "kb" }))).toEqual(["prod/logs"]);
    expect(clustersOf(c, "pod", pod("apps", { "kibana.k8s.elastic.co/name": "unknown" }))).toEqual([]);
    expect(clustersOf(c, "pod", pod("apps", {}))).toEqual([]);
  });

  test("the license: every cluster", () => {
    expect(clustersOf(c, "license", meta("elastic-system", {}, "elastic-licensing")).sort()).toEqual(["dev/quickstart", "prod/logs", "prod/quickstart"]);
  });

  test("a namespace: the clusters in it and those its Kibanas reference", () => {
    const ns = (name: string): KubernetesObject => ({ metadata: { name } });
    expect(clustersOf(c, "namespace", ns("prod")).sort()).toEqual(["prod/logs", "prod/quickstart"]);
    expect(clustersOf(c, "namespace", ns("apps"))).toEqual(["prod/logs"]);
    // Once as a cluster there and once through its Kibana (the queue dedupes).
    expect(clustersOf(c, "namespace", ns("dev"))).toEqual(["dev/quickstart", "dev/quickstart"]);
    expect(clustersOf(c, "namespace", ns("empty"))).toEqual([]);
  });
});

test("allClusters lists every cached Elasticsearch as namespace/name", () => {
  expect(allClusters(caches()).sort()).toEqual(["dev/quickstart", "prod/logs", "prod/quickstart"]);
});

test("intentClustersOf: the cluster a changed pod's intent names, or those the pods of a changed Kibana hold (issue 18: the cluster a pod left withdraws its intent)", () => {
  const pods = new FakeCache<V1Pod>();
  const pod = (namespace: string, name: string, labels: Record<string, string>) => ({ metadata: { namespace, name, labels } }) as V1Pod;
  pods.put(pod("b", "kb-kb-0", { "kibana.k8s.elastic.co/name": "kb" }));
  pods.put(pod("b", "kb-kb-1", { "kibana.k8s.elastic.co/name": "kb" }));
  pods.put(pod("b", "other-kb-0", { "kibana.k8s.elastic.co/name": "other" }));
  const held: Record<string, { namespace: string; name: string }> = { "b/kb-kb-0": { namespace: "b", name: "own" }, "b/other-kb-0": { namespace: "b", name: "x" } };
  const heldBy = (namespace: string, name: string) => held[`${namespace}/${name}`];
  // The Kibana was re-pointed at prod: its pods' intents still name b/own.
  expect(intentClustersOf({ pods }, heldBy, "kibana", kibana("b", "kb", { name: "quickstart", namespace: "prod" }))).toEqual(["b/own"]);
  expect(intentClustersOf({ pods }, heldBy, "pod", pods.get("kb-kb-0", "b")!)).toEqual(["b/own"]);
  expect(intentClustersOf({ pods }, heldBy, "pod", pods.get("kb-kb-1", "b")!)).toEqual([]);
  expect(intentClustersOf({ pods }, heldBy, "elasticsearch", es("b", "own"))).toEqual([]);
});
