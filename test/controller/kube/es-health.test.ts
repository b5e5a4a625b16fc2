// The controller's health reader (controller/kube/es-health.ts) against the Elasticsearch stand-in
// as a real server: TLS verified with the cluster's HTTP CA, the controller's client certificate
// presented, basic auth as `elastic`. Green, red, and each way it cannot read the health.
import { afterAll, describe, expect, test } from "bun:test";
import type { V1Pod, V1Secret, V1StatefulSet } from "@kubernetes/client-node";
import { clusterHealthReader as reader, type StatefulSetReader } from "../../../controller/kube/es-health.ts";
import { planHealthRead, workloadNames } from "../../../controller/gate/health-targets.ts";
import { TestCA } from "../../support/test-ca.ts";
import { PASSWORD, esFromEnv, stopAll, type EsFixture } from "../../standins/setup.ts";

afterAll(async () => {
  await stopAll();
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const LABELS = { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "q", "elasticsearch.k8s.elastic.co/statefulset-name": "q-es-default" };
/** A pod of the StatefulSet q-es-default (below), as the StatefulSet controller makes it. */
const pod = (name: string, ip = "127.0.0.1"): V1Pod => ({
  metadata: { name, namespace: "prod", labels: LABELS, ownerReferences: [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "q-es-default", uid: "sts-uid", controller: true }] },
  status: { podIP: ip, conditions: [{ type: "Ready", status: "True" }] },
});
/** The cluster's StatefulSet without ECK (no owner, its template labelled), using the Helm chart's Secrets. */
const sts: V1StatefulSet = {
  metadata: { name: "q-es-default", namespace: "prod", uid: "sts-uid" },
  spec: {
    serviceName: "q-es-default",
    selector: { matchLabels: { "elasticsearch.k8s.elastic.co/statefulset-name": "q-es-default" } },
    template: {
      metadata: { labels: LABELS },
      spec: {
        containers: [{ name: "elasticsearch", env: [{ name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: "es-master-credentials", key: "password" } } }] }],
        volumes: [{ name: "certs", secret: { secretName: "es-master-certs" } }],
      },
    },
  },
};
const readSts: StatefulSetReader = async (_ns, name) => (name === sts.metadata!.name ? sts : undefined);
const clusterHealthReader = (read: Parameters<typeof reader>[0], o: Parameters<typeof reader>[3]) => reader(read, readSts, { workloadNames, plan: planHealthRead }, o);
/** The names the stand-in's HTTP certificate carries (ECK's HTTP Service). */
const ECK_NAMES = ["q-es-http", "q-es-http.prod", "q-es-http.prod.svc"];

/** The Secrets ECK and es-mtls would have for `q` in `prod`, as the apiserver returns them. */
function secrets(es: EsFixture, o: { password?: string; ca?: string; clientCert?: boolean } = {}) {
  const all: Record<string, V1Secret> = {
    "q-es-elastic-user": { data: { elastic: b64(o.password ?? PASSWORD) } },
    "q-es-http-certs-public": { data: { "ca.crt": b64(o.ca ?? es.httpCa.pem) } },
    ...(o.clientCert === false ? {} : { "q-es-internal-client-cert": { data: { "tls.crt": b64(es.client.certPem), "tls.key": b64(es.client.key) } } }),
  };
  const reads: string[] = [];
  const read = async (namespace: string, name: string) => (reads.push(`${namespace}/${name}`), all[name]);
  return { read, reads };
}

describe("reading /_cluster/health as the controller", () => {
  test("`required`: with the controller's certificate, the elastic user and the HTTP CA → green, named by the pod that answered", async () => {
    const es = await esFromEnv("required", {}, { serverDns: ECK_NAMES });
    const s = secrets(es);
    const answer = await clusterHealthReader(s.read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [pod("q-es-default-0")]);
    expect(answer).toEqual({ status: "green", pod: "q-es-default-0" });
    expect(s.reads.sort()).toEqual(["prod/q-es-elastic-user", "prod/q-es-http-certs-public", "prod/q-es-internal-client-cert"]);
  });

  test("red as the cluster says it (two of three expected nodes missing)", async () => {
    const es = await esFromEnv("none", { "cluster.initial_master_nodes": "es-0,es-1,es-2" }, { serverDns: ECK_NAMES });
    const answer = await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [pod("q-es-default-0")]);
    expect(answer).toEqual({ status: "red", pod: "q-es-default-0" });
  });

  test("unreachable, with the reason per pod: wrong password (401), a server the HTTP CA does not vouch for, no certificate where one is required", async () => {
    const es = await esFromEnv("required", {}, { serverDns: ECK_NAMES });
    const read = (o: Parameters<typeof secrets>[1]) => clusterHealthReader(secrets(es, o).read, { port: es.es.port, timeoutMs: 3000 })({ namespace: "prod", name: "q", uid: "es-uid" }, [pod("q-es-default-0")]);
    expect(await read({ password: "wrong" })).toEqual({ status: "unreachable", reason: "q-es-default-0: HTTP 401" });
    const other = await TestCA.create("another http ca");
    const untrusted = await read({ ca: other.pem });
    expect(untrusted.status).toBe("unreachable");
    expect((untrusted as { reason: string }).reason).toStartWith("q-es-default-0: ");
    expect((await read({ clientCert: false })).status).toBe("unreachable");
  });

  test("no Ready pod, or a missing ECK Secret: unreachable, saying which", async () => {
    const es = await esFromEnv("none", {}, { serverDns: ECK_NAMES });
    const notReady = pod("q-es-default-0");
    notReady.status!.conditions = [{ type: "Ready", status: "False" }];
    expect(await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [notReady])).toEqual({ status: "unreachable", reason: "no Elasticsearch pod is Ready" });
    const none = async () => undefined;
    expect(await clusterHealthReader(none, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [pod("q-es-default-0")])).toEqual({ status: "unreachable", reason: 'Secret prod/q-es-elastic-user has no key "elastic" nor "password"' });
  });

  test("a cluster not run by ECK names its Secrets (the Helm chart's username/password and certs): those are read, ECK's names are not", async () => {
    const es = await esFromEnv("required", {}, { serverDns: ECK_NAMES });
    const all: Record<string, V1Secret> = {
      "es-master-credentials": { data: { username: b64("elastic"), password: b64(PASSWORD) } },
      "es-master-certs": { data: { "ca.crt": b64(es.httpCa.pem), "tls.crt": b64("server certificate"), "tls.key": b64("server key") } },
      "q-es-internal-client-cert": { data: { "tls.crt": b64(es.client.certPem), "tls.key": b64(es.client.key) } },
    };
    const reads: string[] = [];
    const read = async (namespace: string, name: string) => (reads.push(`${namespace}/${name}`), all[name]);
    const cluster = { namespace: "prod", name: "q", uid: "es-uid", credentialsSecret: "es-master-credentials", httpCaSecret: "es-master-certs" };
    expect(await clusterHealthReader(read, { port: es.es.port })(cluster, [pod("q-es-default-0")])).toEqual({ status: "green", pod: "q-es-default-0" });
    expect(reads.sort()).toEqual(["prod/es-master-certs", "prod/es-master-credentials", "prod/q-es-internal-client-cert"]);
    all["es-master-credentials"] = { data: { username: b64("elastic"), password: b64("wrong") } };
    expect(await clusterHealthReader(read, { port: es.es.port })(cluster, [pod("q-es-default-0")])).toEqual({ status: "unreachable", reason: "q-es-default-0: HTTP 401" });
  });
  test("issue 18 finding 4: a Ready pod with the cluster's labels but not made by its StatefulSet is never asked; a server whose certificate names none of the cluster's names gets no credentials", async () => {
    const es = await esFromEnv("required", {}, { serverDns: ECK_NAMES });
    const planted: V1Pod = { metadata: { name: "a-planted", namespace: "prod", labels: LABELS }, status: { podIP: "127.0.0.1", conditions: [{ type: "Ready", status: "True" }] } };
    // Only the planted pod is Ready: nobody is asked, the credentials stay home.
    const alone = await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [planted]);
    expect(alone.status).toBe("unreachable");
    expect((alone as { reason: string }).reason).toContain("a-planted: not controlled by a StatefulSet of the cluster");
    const plantedOwned = { ...pod("a-planted-owned"), metadata: { ...pod("x").metadata, name: "a-planted-owned" } }; // claims the StatefulSet, but is not one of its ordinals
    expect((await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [plantedOwned])).status).toBe("unreachable");
    // A server that the CA vouches for, under another name: refused before any credentials are sent.
    const other = await esFromEnv("required", {}, { serverDns: ["other.prod.svc"] });
    const misnamed = await clusterHealthReader(secrets(other).read, { port: other.es.port })({ namespace: "prod", name: "q", uid: "es-uid" }, [pod("q-es-default-0")]);
    expect(misnamed.status).toBe("unreachable");
    expect((misnamed as { reason: string }).reason).toContain("names none of q-es-http.prod.svc");
  });

  test("issue 18 finding 4: an annotation naming a Secret the StatefulSet's pod template does not use is refused, and nothing is read or sent", async () => {
    const es = await esFromEnv("required", {}, { serverDns: ECK_NAMES });
    const reads: string[] = [];
    const read = async (namespace: string, name: string) => (reads.push(`${namespace}/${name}`), { data: { "ca.crt": b64(es.httpCa.pem), password: b64(PASSWORD) } } as V1Secret);
    const answer = await clusterHealthReader(read, { port: es.es.port })({ namespace: "prod", name: "q", uid: "es-uid", credentialsSecret: "es-master-credentials", httpCaSecret: "planted-ca" }, [pod("q-es-default-0")]);
    expect(answer).toEqual({ status: "refused", reason: expect.stringContaining("Secret prod/planted-ca (annotation mtls.es-mtls.io/health-http-ca-secret) is not used by the pod template of StatefulSet q-es-default") });
    expect(reads).toEqual([]);
  });
});
