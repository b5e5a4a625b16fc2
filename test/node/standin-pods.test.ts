// The ES and Kibana stand-ins as pods of the test node on the real control plane, set up
// as a Helm-chart user would: a 3-replica StatefulSet of `elasticsearch` containers
// configured by env (certs and the file realm from Secrets, discovery through a headless
// Service), a readiness probe on cluster health, and a Kibana Deployment against the
// `es-http` Service. Names resolve through the ClusterDns stand-in.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { resolveAll } from "../fixtures/hosts-file.ts";
import { isReady } from "./fixtures/pods.ts";
import { ClusterDns, standinRunners } from "./fixtures/standin-runners.ts";
import { TestNode } from "./node.ts";
import { killAllProcesses } from "./processes.ts";

const ns = "standins";
const ES_CONFIG = "/usr/share/elasticsearch/config";
const KB_CONFIG = "/usr/share/kibana/config";
const PASSWORD = "elastic-pw";
let cp: ControlPlane;
let node: TestNode;
let dns: ClusterDns;
let core: k8s.CoreV1Api;
let apps: k8s.AppsV1Api;
let httpCa: TestCA;
let clientCa: TestCA;
let user: { certPem: string; key: string };

beforeAll(async () => {
  cp = await ControlPlane.start({ log: (l) => console.error(l) });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  apps = cp.kubeConfig().makeApiClient(k8s.AppsV1Api);
  dns = await ClusterDns.start(cp.kubeConfig());
  node = await TestNode.start({ kubeConfig: cp.kubeConfig(), runners: standinRunners({ hostsFile: dns.file }) });
  await core.createNamespace({ body: { metadata: { name: ns } } });
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  httpCa = await TestCA.create("elasticsearch http ca");
  clientCa = await TestCA.create("client ca");
  // As the Helm chart's certificate: the Services' and pods' DNS names, no IPs.
  const names = ["es-http", `es-http.${ns}`, `es-http.${ns}.svc`, "es-headless", `*.es-headless.${ns}.svc`, `*.es-headless.${ns}.svc.cluster.local`];
  const server = await httpCa.issue({ cn: "es-http", server: { dns: names, ips: [] } });
  const kibanaId = await clientCa.issue({ cn: "kibana", client: true });
  user = await clientCa.issue({ cn: "a-user", client: true });
  const users = `kibana_system:${await Bun.password.hash("kibana-pw", { algorithm: "bcrypt", cost: 4 })}\n`;
  const secret = (name: string, stringData: Record<string, string>) => core.createNamespacedSecret({ namespace: ns, body: { metadata: { name }, stringData } });
  await secret("es-certs", { "tls.crt": server.certPem, "tls.key": server.key, "ca.crt": httpCa.pem, "client-ca.crt": clientCa.pem });
  await secret("es-credentials", { password: PASSWORD, "kibana-password": "kibana-pw", users });
  await secret("kibana-es-client", { "tls.crt": kibanaId.certPem, "tls.key": kibanaId.key, "ca.crt": httpCa.pem });
}, 120_000);

afterAll(async () => {
  try {
    await node?.stop();
  } finally {
    dns?.stop();
    killAllProcesses();
    await cp?.stop();
  }
});

const env = (o: Record<string, string>): k8s.V1EnvVar[] => Object.entries(o).map(([name, value]) => ({ name, value }));
const fromSecret = (name: string, secret: string, key: string): k8s.V1EnvVar => ({ name, valueFrom: { secretKeyRef: { name: secret, key } } });
const basic = (auth: string) => `Basic ${Buffer.from(auth).toString("base64")}`;

function esClient(pods: k8s.V1Pod[]): Client {
  return new Client({
    nodes: pods.map((p) => `https://${p.status!.podIP}:9200`),
    Connection: HttpConnection, // undici's default connection fails on Bun
    // A user's client certificate and basic auth. The CA is verified, the host name not: the certificate names Services, we reach pods by address.
    tls: { ca: httpCa.pem, cert: user.certPem, key: user.key, checkServerIdentity: () => undefined },
    auth: { username: "elastic", password: PASSWORD },
    maxRetries: 0,
    requestTimeout: 5000,
  });
}

test("a 3-node Elasticsearch StatefulSet configured by env becomes Ready and reports green through the official client", async () => {
  const labels = { app: "es" };
  const ports = [{ name: "http", port: 9200 }, { name: "transport", port: 9300 }];
  await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "es-headless" }, spec: { clusterIP: "None", publishNotReadyAddresses: true, selector: labels, ports } } });
  await core.createNamespacedService({ namespace: ns, body: { metadata: { name: "es-http" }, spec: { selector: labels, ports: [{ name: "http", port: 9200 }] } } });
  await apps.createNamespacedStatefulSet({
    namespace: ns,
    body: {
      metadata: { name: "es" },
      spec: {
        replicas: 3,
        serviceName: "es-headless",
        podManagementPolicy: "Parallel", // as the Helm chart: nodes must find each other to become healthy
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [{
              name: "elasticsearch",
              image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0",
              ports: [{ name: "http", containerPort: 9200 }, { name: "transport", containerPort: 9300 }],
              env: [
                { name: "node.name", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
                ...env({
                  "cluster.name": "standin-cluster",
                  "discovery.seed_hosts": "es-headless",
                  "cluster.initial_master_nodes": "es-0,es-1,es-2",
                  "network.host": "0.0.0.0",
                  "xpack.security.http.ssl.key": "certs/tls.key",
                  "xpack.security.http.ssl.certificate": "certs/tls.crt",
                  "xpack.security.http.ssl.certificate_authorities": "certs/ca.crt,certs/client-ca.crt",
                  ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION: "optional",
                }),
                fromSecret("ELASTIC_PASSWORD", "es-credentials", "password"),
              ],
              readinessProbe: { httpGet: { scheme: "HTTPS", path: "/_cluster/health?wait_for_status=yellow&timeout=1s", port: 9200 as never, httpHeaders: [{ name: "Authorization", value: basic(`elastic:${PASSWORD}`) }] }, periodSeconds: 1, timeoutSeconds: 3 },
              volumeMounts: [{ name: "certs", mountPath: `${ES_CONFIG}/certs` }, { name: "credentials", mountPath: `${ES_CONFIG}/users`, subPath: "users" }],
            }],
            volumes: [{ name: "certs", secret: { secretName: "es-certs" } }, { name: "credentials", secret: { secretName: "es-credentials" } }],
          },
        },
      },
    },
  });
  await eventually(async () => expect((await apps.readNamespacedStatefulSet({ name: "es", namespace: ns })).status?.readyReplicas).toBe(3), { timeoutMs: 60_000, intervalMs: 500, what: "3 ready ES replicas" });
  const pods = (await core.listNamespacedPod({ namespace: ns, labelSelector: "app=es" })).items;
  expect(pods.every(isReady)).toBe(true);
  // The cluster DNS stand-in resolves the Services and the pods' names as cluster DNS would.
  const ips = pods.map((p) => p.status!.podIP!).sort();
  for (const name of ["es-http", `es-headless.${ns}.svc.cluster.local`]) {
    await eventually(async () => expect((await resolveAll(name, dns.file)).sort()).toEqual(ips), { timeoutMs: 5000, what: `${name} resolves to the ready pods` });
  }
  expect(await resolveAll(`es-1.es-headless.${ns}.svc`, dns.file)).toEqual([pods.find((p) => p.metadata!.name === "es-1")!.status!.podIP!]);
  const es = esClient(pods);
  try {
    const health = await eventually(async () => {
      const h = await es.cluster.health();
      expect(h.status).toBe("green");
      return h;
    }, { timeoutMs: 20_000, intervalMs: 500, what: "green" });
    expect(health).toMatchObject({ cluster_name: "standin-cluster", number_of_nodes: 3, timed_out: false });
    const names = new Set<string>();
    for (let i = 0; i < 6; i++) names.add((await es.info()).name); // the client round-robins over the three pods
    expect([...names].sort()).toEqual(["es-0", "es-1", "es-2"]);
    // Basic auth is required: the probe's header is not a bypass.
    const anonymous = await fetch(`https://${pods[0]!.status!.podIP}:9200/`, { tls: { ca: httpCa.pem, checkServerIdentity: () => undefined } } as RequestInit);
    expect(anonymous.status).toBe(401);
  } finally {
    await es.close();
  }
}, 90_000);

test("a Kibana Deployment configured by env becomes available against the es-http Service", async () => {
  const labels = { app: "kibana" };
  await apps.createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name: "kibana" },
      spec: {
        replicas: 1,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [{
              name: "kibana",
              image: "docker.elastic.co/kibana/kibana:9.4.0",
              ports: [{ name: "http", containerPort: 5601 }],
              env: [
                ...env({
                  ELASTICSEARCH_HOSTS: "https://es-http:9200",
                  ELASTICSEARCH_USERNAME: "kibana_system",
                  ELASTICSEARCH_SSL_CERTIFICATE: `${KB_CONFIG}/elasticsearch-client-certs/tls.crt`,
                  ELASTICSEARCH_SSL_KEY: `${KB_CONFIG}/elasticsearch-client-certs/tls.key`,
                  ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES: `${KB_CONFIG}/elasticsearch-client-certs/ca.crt`,
                  ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE: "true",
                  ELASTICSEARCH_SSL_VERIFICATIONMODE: "certificate",
                  STATUS_ALLOWANONYMOUS: "true",
                }),
                fromSecret("ELASTICSEARCH_PASSWORD", "es-credentials", "kibana-password"),
              ],
              readinessProbe: { httpGet: { path: "/api/status", port: 5601 as never }, periodSeconds: 1 },
              volumeMounts: [{ name: "es-client", mountPath: `${KB_CONFIG}/elasticsearch-client-certs` }],
            }],
            volumes: [{ name: "es-client", secret: { secretName: "kibana-es-client" } }],
          },
        },
      },
    },
  });
  await eventually(async () => expect((await apps.readNamespacedDeployment({ name: "kibana", namespace: ns })).status?.availableReplicas).toBe(1), { timeoutMs: 40_000, intervalMs: 500, what: "Kibana available" });
  const [pod] = (await core.listNamespacedPod({ namespace: ns, labelSelector: "app=kibana" })).items;
  const res = await fetch(`http://${pod!.status!.podIP}:5601/api/status`);
  expect(res.status).toBe(200);
  const body = (await res.json()) as { status: { overall: { level: string }; core: { elasticsearch: { summary: string } } }; metrics: { process: { uptime_in_millis: number } } };
  expect(body.status.overall.level).toBe("available");
  expect(body.metrics.process.uptime_in_millis).toBeGreaterThan(0);
  const logs = node.pod(ns, pod!.metadata!.name!)!.logs("kibana");
  expect(logs).toContain("is now available");
}, 60_000);
