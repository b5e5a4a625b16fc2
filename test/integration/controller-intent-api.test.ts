// The running controller's intent API with real projected service-account tokens,
// Kibana identities, the proof-gated disable, restart safety and deletion.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { ELASTICSEARCH as ES, KIBANA as KB, CLIENT_AUTHENTICATION as CA_RES } from "../../controller/resources.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";
import { call, firstIntents, podToken, servingCa, postStatus } from "../support/intent-client.ts";
import { INTENT_API_AUDIENCE, type Intent, type StatusReport } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";
import { makeCsr } from "../support/pki-fixtures.ts";
import { TestCA } from "../support/test-ca.ts";
import { clientCaSecretName } from "../../controller/names.ts";

const CONTROLLER_USER = "es-mtls-controller";
const ns = "shop";
let cp: ControlPlane;
let controller: ControllerProcess;
let kubeconfig: string;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
let ca: string;


const statusOf = async (es: string): Promise<any> => ((await custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name: es })) as any).status;

/**
 * Deadline for what the controller writes after a change (a watch event, then a reconcile): twice
 * these took over 10 s on a busy 2-core machine (other suites running), never in a quiet run.
 */
const BUSY_MS = 30_000;

async function esPod(name: string, cluster: string, sa = "es"): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": cluster } },
      spec: { serviceAccountName: sa, containers: [{ name: "elasticsearch", image: "stand-in" }] },
    },
  });
}

async function kbPod(name: string, kibana: string): Promise<k8s.V1Pod> {
  return core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name, labels: { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": kibana } },
      spec: { serviceAccountName: "es", containers: [{ name: "kibana", image: "stand-in" }] },
    },
  });
}

async function report(pod: k8s.V1Pod, body: StatusReport): Promise<Response> {
  return postStatus(controller.url, ca, await podToken(core, pod, INTENT_API_AUDIENCE), body);
}

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [ns]);
  await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "es" } } });
  kubeconfig = await cp.kubeconfigFor(CONTROLLER_USER, ["system:masters"]);
  controller = await ControllerProcess.start({ kubeconfig, name: "controller-a", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
  await controller.waitReady();
  ca = await servingCa(core, "es-mtls-system");
  await custom.createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "logs" }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 2 }] } },
  });
  // Pods created before the cluster became active are the rollout's, not ones the webhook missed:
  // the PodsInjected check below needs its pods created after `activeSince` (a busy machine once
  // reconciled the Elasticsearch only after the test had created them).
  await eventually(async () => expect((await statusOf("logs").catch(() => undefined))?.activeSince).toBeString(), { timeoutMs: BUSY_MS, what: "cluster logs active" });
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

describe("intent API with real service-account tokens", () => {
  let podA: k8s.V1Pod;
  let podB: k8s.V1Pod;
  test("a pod-bound token gets exactly its own pod's intent, with the trust bundle", async () => {
    podA = await esPod("logs-es-default-0", "logs");
    podB = await esPod("logs-es-default-1", "logs");
    const [intent] = (await eventually(async () => firstIntents(controller.url, ca, await podToken(core, podA, INTENT_API_AUDIENCE)), { timeoutMs: 15_000, what: "intent for pod A" })) as Intent[];
    expect(intent!.pod).toEqual({ namespace: ns, name: "logs-es-default-0", uid: podA.metadata!.uid! });
    expect(intent!.role).toBe("elasticsearch");
    expect(intent!.cluster).toEqual({ namespace: ns, name: "logs" });
    expect(intent!.files.dir).toBe("/usr/share/elasticsearch/config/client-trust-bundle");
    const bundleSecret = await core.readNamespacedSecret({ name: "logs-es-client-trust-bundle", namespace: ns });
    expect(intent!.trustBundle!.pem).toBe(atob(bundleSecret.data!["client-trust-bundle.crt"]!));
    // Nothing in it that only the controller should hold.
    expect(JSON.stringify(intent)).not.toContain("PRIVATE KEY");
    // Each pod's intent is published by the reconcile that follows its creation: B's may come after A's.
    const [b] = (await eventually(async () => firstIntents(controller.url, ca, await podToken(core, podB, INTENT_API_AUDIENCE)), { timeoutMs: BUSY_MS, what: "intent for pod B" })) as Intent[];
    expect(b!.pod.name).toBe("logs-es-default-1");
    // No injection webhook runs in this file: the pods lack the agent, and the controller says so.
    const cond = await eventually(async () => {
      const c = (await statusOf("logs")).conditions.find((x: any) => x.type === "PodsInjected");
      expect(c.status).toBe("False");
      return c;
    }, { timeoutMs: BUSY_MS, what: "PodsInjected condition" });
    expect(cond.reason).toBe("PodsNotInjected");
    expect(cond.message).toContain("logs-es-default-0");
    const events = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=logs" })).items;
    expect(events.some((e) => e.reason === "PodsNotInjected" && e.type === "Warning")).toBe(true);
  });

  test("no token, a wrong audience, a deleted pod: refused with a reason", async () => {
    const noToken = await call(`${controller.url}/v1/intent`, ca, undefined);
    expect(noToken.status).toBe(401);
    expect((await noToken.json()).reason).toContain("missing bearer token");
    const wrongAud = await call(`${controller.url}/v1/intent`, ca, await podToken(core, podA, "https://kubernetes.default.svc"));
    expect(wrongAud.status).toBe(401);
    expect((await wrongAud.json()).reason).toContain("audience");
    const gone = await esPod("logs-es-default-9", "logs");
    const goneToken = await podToken(core, gone, INTENT_API_AUDIENCE);
    await core.deleteNamespacedPod({ name: "logs-es-default-9", namespace: ns, gracePeriodSeconds: 0 });
    await eventually(async () => {
      const r = await call(`${controller.url}/v1/intent`, ca, goneToken);
      expect(r.status).toBeGreaterThanOrEqual(401);
      expect(r.status).toBeLessThanOrEqual(403);
      expect(JSON.stringify(await r.json())).toMatch(/does not exist|not valid|invalid|bound object/);
    }, { timeoutMs: BUSY_MS, what: "deleted pod refused" });
  });

  test("a completed pod (status.phase Succeeded, set through the status subresource) is refused: 403 naming the phase, for its intent and its CSR (issue 18 finding 5)", async () => {
    const done = await esPod("logs-es-default-5", "logs");
    const token = await podToken(core, done, INTENT_API_AUDIENCE);
    const [intent] = (await eventually(() => firstIntents(controller.url, ca, token), { timeoutMs: BUSY_MS, what: "intent for the pod before it completes" })) as Intent[];
    const live = await core.readNamespacedPod({ name: "logs-es-default-5", namespace: ns });
    live.status = { ...live.status, phase: "Succeeded" };
    await core.replaceNamespacedPodStatus({ name: "logs-es-default-5", namespace: ns, body: live });
    const reason = await eventually(async () => {
      const r = await call(`${controller.url}/v1/intent`, ca, token);
      expect(r.status).toBe(403);
      return ((await r.json()) as { reason: string }).reason;
    }, { timeoutMs: BUSY_MS, what: "completed pod refused" });
    expect(reason).toBe(`pod ${ns}/logs-es-default-5 has completed (phase Succeeded): a completed pod gets no intent and no certificate`);
    const csr = await makeCsr({ subject: "CN=es-mtls-proof, OU=logs" });
    const refused = await call(`${controller.url}/v1/certificate`, ca, token, { method: "POST", body: JSON.stringify({ generation: intent!.generation, csr: csr.pem }) });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { reason: string }).reason).toContain("phase Succeeded");
    await core.deleteNamespacedPod({ name: "logs-es-default-5", namespace: ns, gracePeriodSeconds: 0 });
  });

  test("a Kibana pod's CSR is signed by the cluster CA when it matches the intent, refused otherwise", async () => {
    await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb" }, spec: { elasticsearchRef: { name: "logs" } } } });
    const pod = await kbPod("kb-kb-abc", "kb");
    const token = await podToken(core, pod, INTENT_API_AUDIENCE);
    const [intent] = (await eventually(() => firstIntents(controller.url, ca, token), { timeoutMs: 15_000, what: "kibana intent" })) as Intent[];
    expect(intent!.identity).toMatchObject({ source: "managed", subject: { commonName: "kb", organizationalUnit: "kb" } });
    const good = await makeCsr({ subject: "CN=kb, OU=kb" });
    const signed = await call(`${controller.url}/v1/certificate`, ca, token, { method: "POST", body: JSON.stringify({ generation: intent!.generation, csr: good.pem }) });
    expect(signed.status).toBe(200);
    const body = await signed.json();
    const leaf = new x509.X509Certificate(body.certificate);
    const caSecret = await core.readNamespacedSecret({ name: clientCaSecretName(ns, "logs"), namespace: "es-mtls-system" });
    const clusterCa = new x509.X509Certificate(atob(caSecret.data!["tls.crt"]!));
    expect(await leaf.verify({ publicKey: clusterCa.publicKey, signatureOnly: true })).toBe(true);
    expect(leaf.subjectName.getField("CN")).toEqual(["kb"]);
    const wrong = await makeCsr({ subject: "CN=admin, OU=kb" });
    const refused = await call(`${controller.url}/v1/certificate`, ca, token, { method: "POST", body: JSON.stringify({ generation: intent!.generation, csr: wrong.pem }) });
    expect(refused.status).toBe(400);
    expect((await refused.json()).reason).toContain("CN");
  });

  test("a Kibana whose clientCertificateSecretName is missing gets an Event and a condition, and no intent", async () => {
    await custom.createNamespacedCustomObject({ ...KB, namespace: ns, body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb-user" }, spec: { elasticsearchRef: { name: "logs", clientCertificateSecretName: "my-cert" } } } });
    const pod = await kbPod("kb-user-kb-xyz", "kb-user");
    const events = await eventually(async () => {
      const ev = (await core.listNamespacedEvent({ namespace: ns, fieldSelector: "involvedObject.name=kb-user" })).items;
      expect(ev.map((e) => e.reason)).toContain("ClientCertificateInvalid");
      return ev;
    }, { timeoutMs: 15_000, what: "Kibana event" });
    expect(events.find((e) => e.reason === "ClientCertificateInvalid")!.message).toContain("Secret my-cert (clientCertificateSecretName) does not exist");
    const cond = await eventually(async () => {
      const c = (await statusOf("logs")).conditions.find((x: any) => x.type === "KibanaIdentities");
      expect(c.status).toBe("False");
      return c;
    }, { what: "KibanaIdentities condition" });
    expect(cond.message).toContain("kb-user");
    const r = await call(`${controller.url}/v1/intent`, ca, await podToken(core, pod, INTENT_API_AUDIENCE));
    expect(r.status).toBe(403);
    // Once the Secret exists, its certificate is pinned into the bundle and the pod gets an intent.
    const userCa = await TestCA.create("user CA");
    const leaf = await userCa.issue({ subject: "CN=kibana-user", client: true });
    await core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: "my-cert" }, stringData: { "tls.crt": leaf.cert, "tls.key": leaf.key } } });
    await custom.patchNamespacedCustomObject(
      { ...KB, namespace: ns, name: "kb-user", body: { metadata: { annotations: { touched: "1" } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    const [intent] = (await eventually(async () => firstIntents(controller.url, ca, await podToken(core, pod, INTENT_API_AUDIENCE)), { timeoutMs: 15_000, what: "user-provided intent" })) as Intent[];
    expect(intent!.identity).toEqual({ source: "userProvided", mountPath: "/var/run/secrets/es-mtls-user-client-cert" });
    const bundle = atob((await core.readNamespacedSecret({ name: "logs-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!);
    expect(bundle).toContain(leaf.cert.split("\n")[1]!);
  });
});

describe("proof-gated transitions", () => {
  test("a cluster whose pods exist stays Enabling until every Elasticsearch pod proves it requires certificates", async () => {
    // "logs" had no pods when it was switched on, so it was Enabled at once; switch it off
    // and on again now that it has pods.
    for (const authentication of [false, true]) {
      await custom.patchNamespacedCustomObject(
        { ...ES, namespace: ns, name: "logs", body: { spec: { http: { tls: { client: { authentication } } } } } },
        k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
      );
      await eventually(async () => expect((await statusOf("logs")).phase).toBe(authentication ? "Enabling" : "Disabling"), { timeoutMs: BUSY_MS, what: "phase" });
    }
    await Bun.sleep(2500); // a resync: still Enabling without proofs
    let status = await statusOf("logs");
    expect(status.phase).toBe("Enabling");
    const pods = await core.listNamespacedPod({ namespace: ns, labelSelector: "elasticsearch.k8s.elastic.co/cluster-name=logs" });
    for (const pod of pods.items) {
      const [intent] = (await firstIntents(controller.url, ca, await podToken(core, pod, INTENT_API_AUDIENCE))) as Intent[];
      const r = await report(pod, {
        generation: intent!.generation,
        bundleSha256: intent!.trustBundle!.sha256,
        proof: { checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: "refused", detail: "test" },
        ready: true,
        errors: [],
      });
      expect(r.status).toBe(204);
    }
    status = await eventually(async () => {
      const s = await statusOf("logs");
      expect(s.phase).toBe("Enabled");
      return s;
    }, { timeoutMs: BUSY_MS, what: "Enabled" });
    expect(status.podsProven).toMatch(/^2\//);
    expect(status.pods.find((p: any) => p.name === "logs-es-default-0").withoutCertificate).toBe("refused");
  });

  test("a restarted controller rebuilds its state from the API: same phase and generation, and no writes", async () => {
    const before = await statusOf("logs");
    await controller.stop();
    const since = new Date().toISOString();
    controller = await ControllerProcess.start({ kubeconfig, name: "controller-b", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
    await controller.waitReady();
    ca = await servingCa(core, "es-mtls-system");
    await Bun.sleep(6000);
    const after = await statusOf("logs");
    expect(after.phase).toBe("Enabled");
    expect(after.intentGeneration).toBe(before.intentGeneration);
    expect(after.bundleSha256).toBe(before.bundleSha256);
    const writes = cp.auditEvents().filter((e) => e.user.username === CONTROLLER_USER && e.stage === "ResponseComplete" && e.requestReceivedTimestamp >= since && !["leases", "events"].includes(e.objectRef?.resource ?? ""));
    expect(writes.map((w) => `${w.verb} ${w.objectRef?.resource}/${w.objectRef?.name}`)).toEqual([]);
  });

  test("turning it off keeps everything until every Elasticsearch pod proves it accepts clients without a certificate; then the annotation goes first, then the secrets", async () => {
    await custom.patchNamespacedCustomObject(
      { ...ES, namespace: ns, name: "logs", body: { spec: { http: { tls: { client: { authentication: false } } } } } },
      k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
    );
    await eventually(async () => expect((await statusOf("logs")).phase).toBe("Disabling"), { timeoutMs: BUSY_MS, what: "Disabling" });
    await Bun.sleep(3000);
    // Still there: pods have not proven anything yet.
    const es: any = await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "logs" });
    expect(es.metadata.annotations["eck.k8s.elastic.co/client-authentication-required"]).toBe("true");
    await core.readNamespacedSecret({ name: "logs-es-client-trust-bundle", namespace: ns });
    // The old pods required certificates; they are replaced by pods that do not.
    for (const name of ["logs-es-default-0", "logs-es-default-1"]) await core.deleteNamespacedPod({ name, namespace: ns, gracePeriodSeconds: 0 });
    const fresh = [await esPod("logs-es-default-0", "logs"), await esPod("logs-es-default-1", "logs")];
    const since = new Date().toISOString();
    for (const pod of fresh) {
      // The intent follows the pod's creation by a watch event and a reconcile: on a busy 2-core
      // machine that took longer than 10 s once (CI), so the deadline is generous and a miss shows
      // the controller's last log lines.
      const [intent] = (await eventually(async () => firstIntents(controller.url, ca, await podToken(core, pod, INTENT_API_AUDIENCE)), { timeoutMs: 30_000, what: "intent" }).catch((e) => {
        throw new Error(`${(e as Error).message}\ncontroller:\n${controller.logs.slice(-20).join("\n")}`);
      })) as Intent[];
      expect(intent!.enforcement).toBe("none");
      expect((await statusOf("logs")).phase).toBe("Disabling");
      await report(pod, {
        generation: intent!.generation,
        bundleSha256: intent!.trustBundle!.sha256,
        proof: { checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: "accepted", detail: "test" },
        ready: true,
        errors: [],
      });
    }
    await eventually(async () => expect((await statusOf("logs")).phase).toBe("Disabled"), { timeoutMs: BUSY_MS, what: "Disabled" });
    await expect(core.readNamespacedSecret({ name: "logs-es-client-trust-bundle", namespace: ns })).rejects.toBeDefined();
    await expect(core.readNamespacedSecret({ name: "logs-es-internal-client-cert", namespace: ns })).rejects.toBeDefined();
    const esAfter: any = await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "logs" });
    expect(esAfter.metadata.annotations?.["eck.k8s.elastic.co/client-authentication-required"]).toBeUndefined();
    // Order: the annotation was removed before any secret was deleted.
    const writes = cp.auditEvents().filter((e) => e.user.username === CONTROLLER_USER && e.stage === "ResponseComplete" && e.requestReceivedTimestamp >= since);
    const annotationAt = writes.findIndex((w) => w.objectRef?.resource === "elasticsearches" && w.verb === "patch");
    const firstDelete = writes.findIndex((w) => w.verb === "delete" && w.objectRef?.resource === "secrets");
    expect(annotationAt).toBeGreaterThanOrEqual(0);
    expect(firstDelete).toBeGreaterThan(annotationAt);
  });

  test("deleting the Elasticsearch removes what the controller made for it", async () => {
    await custom.createNamespacedCustomObject({
      ...ES,
      namespace: ns,
      body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "tmp" }, spec: { http: { tls: { client: { authentication: true } } } } },
    });
    await eventually(() => core.readNamespacedSecret({ name: "tmp-es-client-trust-bundle", namespace: ns }), { timeoutMs: BUSY_MS, what: "bundle" });
    await custom.deleteNamespacedCustomObject({ ...ES, namespace: ns, name: "tmp" });
    await eventually(async () => {
      const secrets = (await core.listNamespacedSecret({ namespace: ns })).items.map((s) => s.metadata!.name!).filter((n) => n.startsWith("tmp-"));
      expect(secrets).toEqual([]);
      await expect(custom.getNamespacedCustomObject({ ...CA_RES, namespace: ns, name: "tmp" })).rejects.toBeDefined();
    }, { timeoutMs: 30_000, what: "garbage collection" });
  });
});
