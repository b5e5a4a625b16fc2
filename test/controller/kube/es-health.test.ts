// The controller's health reader (controller/kube/es-health.ts) against the Elasticsearch stand-in
// as a real server: TLS verified with the cluster's HTTP CA, the controller's client certificate
// presented, basic auth as `elastic`. Green, red, and each way it cannot read the health.
import { afterAll, describe, expect, test } from "bun:test";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { clusterHealthReader } from "../../../controller/kube/es-health.ts";
import { TestCA } from "../../support/test-ca.ts";
import { PASSWORD, esFromEnv, stopAll, type EsFixture } from "../../standins/setup.ts";

afterAll(async () => {
  await stopAll();
});

const b64 = (s: string) => Buffer.from(s).toString("base64");
const pod = (name: string, ip = "127.0.0.1"): V1Pod => ({ metadata: { name, namespace: "prod" }, status: { podIP: ip, conditions: [{ type: "Ready", status: "True" }] } });

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
    const es = await esFromEnv("required");
    const s = secrets(es);
    const answer = await clusterHealthReader(s.read, { port: es.es.port })({ namespace: "prod", name: "q" }, [pod("q-es-default-0")]);
    expect(answer).toEqual({ status: "green", pod: "q-es-default-0" });
    expect(s.reads.sort()).toEqual(["prod/q-es-elastic-user", "prod/q-es-http-certs-public", "prod/q-es-internal-client-cert"]);
  });

  test("red as the cluster says it (two of three expected nodes missing)", async () => {
    const es = await esFromEnv("none", { "cluster.initial_master_nodes": "es-0,es-1,es-2" });
    const answer = await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q" }, [pod("q-es-default-0")]);
    expect(answer).toEqual({ status: "red", pod: "q-es-default-0" });
  });

  test("unreachable, with the reason per pod: wrong password (401), a server the HTTP CA does not vouch for, no certificate where one is required", async () => {
    const es = await esFromEnv("required");
    const read = (o: Parameters<typeof secrets>[1]) => clusterHealthReader(secrets(es, o).read, { port: es.es.port, timeoutMs: 3000 })({ namespace: "prod", name: "q" }, [pod("q-es-default-0")]);
    expect(await read({ password: "wrong" })).toEqual({ status: "unreachable", reason: "q-es-default-0: HTTP 401" });
    const other = await TestCA.create("another http ca");
    const untrusted = await read({ ca: other.pem });
    expect(untrusted.status).toBe("unreachable");
    expect((untrusted as { reason: string }).reason).toStartWith("q-es-default-0: ");
    expect((await read({ clientCert: false })).status).toBe("unreachable");
  });

  test("no Ready pod, or a missing ECK Secret: unreachable, saying which", async () => {
    const es = await esFromEnv("none");
    const notReady = pod("q-es-default-0");
    notReady.status!.conditions = [{ type: "Ready", status: "False" }];
    expect(await clusterHealthReader(secrets(es).read, { port: es.es.port })({ namespace: "prod", name: "q" }, [notReady])).toEqual({ status: "unreachable", reason: "no Elasticsearch pod is Ready" });
    const none = async () => undefined;
    expect(await clusterHealthReader(none, { port: es.es.port })({ namespace: "prod", name: "q" }, [pod("q-es-default-0")])).toEqual({ status: "unreachable", reason: 'Secret prod/q-es-elastic-user has no key "elastic" nor "password"' });
  });

  test("a cluster not run by ECK names its Secrets (the Helm chart's username/password and certs): those are read, ECK's names are not", async () => {
    const es = await esFromEnv("required");
    const all: Record<string, V1Secret> = {
      "es-master-credentials": { data: { username: b64("elastic"), password: b64(PASSWORD) } },
      "es-master-certs": { data: { "ca.crt": b64(es.httpCa.pem), "tls.crt": b64("server certificate"), "tls.key": b64("server key") } },
      "q-es-internal-client-cert": { data: { "tls.crt": b64(es.client.certPem), "tls.key": b64(es.client.key) } },
    };
    const reads: string[] = [];
    const read = async (namespace: string, name: string) => (reads.push(`${namespace}/${name}`), all[name]);
    const cluster = { namespace: "prod", name: "q", credentialsSecret: "es-master-credentials", httpCaSecret: "es-master-certs" };
    expect(await clusterHealthReader(read, { port: es.es.port })(cluster, [pod("q-es-default-0")])).toEqual({ status: "green", pod: "q-es-default-0" });
    expect(reads.sort()).toEqual(["prod/es-master-certs", "prod/es-master-credentials", "prod/q-es-internal-client-cert"]);
    all["es-master-credentials"] = { data: { username: b64("elastic"), password: b64("wrong") } };
    expect(await clusterHealthReader(read, { port: es.es.port })(cluster, [pod("q-es-default-0")])).toEqual({ status: "unreachable", reason: "q-es-default-0: HTTP 401" });
  });
});
