// Two controller replicas on one Lease: only the leader writes; killing it hands
// over to the standby within 15 s, which carries on without writing anything twice.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import type { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES, KIBANA as KB } from "../../controller/resources.ts";
import type { ControllerProcess } from "../support/controller-process.ts";
import { startHaControllers, type HaControllers } from "../support/ha-controllers.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { createClientCertSecret } from "../support/client-cert-secret.ts";
import { clientCaSecretName } from "../../controller/names.ts";

const ns = "ha";
let ha: HaControllers;
let cp: ControlPlane;
let replicas: ControllerProcess[];
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;

beforeAll(async () => {
  ha = await startHaControllers(ns);
  ({ cp, replicas, core, custom } = ha);
}, 900_000);

afterAll(async () => {
  await ha?.stop();
});

const holder = () => ha.holder();

function writesBy(user: string) {
  return cp.auditEvents().filter((e) => e.user.username === user && e.stage === "ResponseComplete" && !["leases", "events"].includes(e.objectRef?.resource ?? ""));
}

test("only the leader writes; after kill -9 the standby takes over within 15 s and nothing is written twice", async () => {
  const leaderName = await eventually(async () => {
    const h = await holder();
    expect(h).toBeDefined();
    return h!;
  }, { timeoutMs: 15_000, what: "a leader" });
  const leader = replicas.find((r) => r.name === leaderName)!;
  const standby = replicas.find((r) => r.name !== leaderName)!;

  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "ha" }, spec: { http: { tls: { client: { authentication: true } } } } },
  });
  await eventually(() => core.readNamespacedSecret({ name: "ha-es-client-trust-bundle", namespace: ns }), { timeoutMs: 15_000, what: "bundle" });
  // The controller's certificate is written last in a reconcile: the leader has written by then.
  await eventually(() => core.readNamespacedSecret({ name: "ha-es-internal-client-cert", namespace: ns }), { timeoutMs: 15_000, what: "the controller's certificate" });
  expect(writesBy(`es-mtls-${leaderName}`).length).toBeGreaterThan(0);
  expect(writesBy(`es-mtls-${standby.name}`)).toEqual([]);

  const killedAt = Date.now();
  await leader.stop("SIGKILL");
  await eventually(async () => expect(await holder()).toBe(standby.name), { timeoutMs: 15_000, intervalMs: 200, what: "standby holds the lease" });
  const takeoverMs = Date.now() - killedAt;
  console.error(`standby took the lease ${takeoverMs} ms after the leader was killed`);
  expect(takeoverMs).toBeLessThan(15_000);

  // The new leader carries on: a new trusted client certificate reaches the bundle.
  const kb: any = await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "ha" } } } });
  const leaf = await (await TestCA.create("client")).issue({ subject: "CN=after-failover", client: true });
  await createClientCertSecret(core, { namespace: ns, name: "after-failover", es: "ha", owner: { kind: "Kibana", name: "kb", uid: kb.metadata.uid }, certPem: leaf.cert });
  await eventually(async () => {
    const b = atob((await core.readNamespacedSecret({ name: "ha-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!);
    expect(b).toContain(leaf.cert.split("\n")[1]!);
  }, { timeoutMs: 15_000, what: "new leader updates the bundle" });

  // Nothing was created twice: the CA and the controller's certificate are the originals.
  const all = cp.auditEvents().filter((e) => e.stage === "ResponseComplete" && e.user.username.startsWith("es-mtls-replica"));
  const creates = (name: string) => all.filter((e) => e.objectRef?.name === name && (e.verb === "create" || (e.verb === "patch" && e.responseStatus?.code === 201)));
  expect(creates(clientCaSecretName(ns, "ha")).length).toBe(1);
  const caWrites = all.filter((e) => e.objectRef?.name === clientCaSecretName(ns, "ha") && e.responseStatus?.code && e.responseStatus.code < 300);
  expect(caWrites.length).toBe(1);
  const internalWrites = all.filter((e) => e.objectRef?.name === "ha-es-internal-client-cert" && e.responseStatus?.code && e.responseStatus.code < 300);
  expect(internalWrites.length).toBe(1);
});
