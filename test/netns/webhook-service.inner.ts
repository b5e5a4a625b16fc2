// Run by webhook-service.test.ts inside a network namespace of its own (test/netns/private-network.ts);
// skipped anywhere else. What the install e2e of issue 20 item 4 builds on: kube-apiserver with
// --enable-aggregator-routing=true reaches a webhook through its Service, resolved by the
// EndpointSlices kube-controller-manager makes from the test node's pods, at their pod IPs; no
// cluster IP, no proxy.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { TestNode } from "../node/node.ts";
import { commandRunner } from "../node/runners.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { inPrivateNetwork, networkNamespace, outerNetworkNamespace, privatePodNetwork } from "./private-network.ts";

const NS = "hooks";
const FIXTURE = join(import.meta.dir, "fixtures", "refusing-webhook.ts");

let cp: ControlPlane;
let node: TestNode;
let core: k8s.CoreV1Api;

beforeAll(async () => {
  if (!inPrivateNetwork) return;
  cp = await ControlPlane.start({ extraControllers: ["endpointslice-controller"], apiserverArgs: ["--enable-aggregator-routing=true"] });
  node = await TestNode.start({ kubeConfig: cp.kubeConfig(), runners: [commandRunner], podNetwork: privatePodNetwork() });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
}, 120_000);

afterAll(async () => {
  await node?.stop();
  await cp?.stop();
});

/** The addresses of the Service's ready endpoints. */
async function readyEndpoints(): Promise<string[]> {
  const slices = await cp.kubeConfig().makeApiClient(k8s.DiscoveryV1Api).listNamespacedEndpointSlice({ namespace: NS, labelSelector: "kubernetes.io/service-name=webhook" });
  return slices.items.flatMap((s) => (s.endpoints ?? []).filter((e) => e.conditions?.ready).flatMap((e) => e.addresses));
}

/** Creates a ConfigMap in the webhook's namespace; the apiserver's refusal message, or "created". */
async function tryCreate(name: string): Promise<string> {
  try {
    await core.createNamespacedConfigMap({ namespace: NS, body: { metadata: { name }, data: { a: "b" } } });
    return "created";
  } catch (e) {
    const body = (e as { body?: string }).body;
    return body ? (JSON.parse(body) as { message: string }).message : String(e);
  }
}

describe.skipIf(!inPrivateNetwork)("inside a private network namespace", () => {
  test("this process, the control plane and the pods are in a network namespace of their own", () => {
    expect(outerNetworkNamespace()).toMatch(/^net:\[\d+\]$/);
    expect(networkNamespace()).not.toBe(outerNetworkNamespace());
  });

  test("the apiserver calls a webhook through its Service at the pod's IP, and reports no endpoints once the pod is gone", async () => {
    const ca = await TestCA.create("webhook-ca");
    const serving = await ca.issue({ cn: "webhook", server: { dns: [`webhook.${NS}.svc`], ips: [] } });
    await core.createNamespace({ body: { metadata: { name: NS } } });
    await core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: "webhook", labels: { app: "webhook" } },
        spec: {
          containers: [{
            name: "webhook",
            image: "local/command",
            command: [process.execPath, FIXTURE],
            ports: [{ containerPort: 8443 }],
            env: [
              { name: "POD_IP", valueFrom: { fieldRef: { fieldPath: "status.podIP" } } },
              { name: "WEBHOOK_CERT", value: serving.cert },
              { name: "WEBHOOK_KEY", value: serving.key },
            ],
            readinessProbe: { tcpSocket: { port: 8443 as never }, periodSeconds: 1 },
          }],
        },
      },
    });
    await core.createNamespacedService({ namespace: NS, body: { metadata: { name: "webhook" }, spec: { selector: { app: "webhook" }, ports: [{ port: 443, targetPort: 8443 as never }] } } });
    const podIP = await eventually(async () => {
      const ip = (await core.readNamespacedPod({ namespace: NS, name: "webhook" })).status?.podIP;
      if (!ip) throw new Error("no pod IP yet");
      return ip;
    }, { timeoutMs: 30_000, what: "the webhook pod's IP" });
    expect(podIP).toMatch(/^10\.244\.\d+\.\d+$/);
    await eventually(async () => expect(await readyEndpoints()).toEqual([podIP]), { timeoutMs: 60_000, what: "an EndpointSlice with the pod ready" });

    await cp.kubeConfig().makeApiClient(k8s.AdmissionregistrationV1Api).createValidatingWebhookConfiguration({
      body: {
        metadata: { name: "refusing" },
        webhooks: [{
          name: "refusing.test.es-mtls.io",
          admissionReviewVersions: ["v1"],
          sideEffects: "None",
          failurePolicy: "Fail",
          timeoutSeconds: 5,
          clientConfig: { service: { namespace: NS, name: "webhook", path: "/validate", port: 443 }, caBundle: Buffer.from(ca.pem).toString("base64") },
          rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }],
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": NS } },
        }],
      },
    });
    // The apiserver picks the configuration up within a moment; until then a ConfigMap goes through.
    let n = 0;
    const refusal = await eventually(async () => {
      const message = await tryCreate(`probe-${n++}`);
      if (!message.includes("refused by the webhook pod")) throw new Error(message);
      return message;
    }, { timeoutMs: 30_000, what: "the webhook's refusal" });
    expect(refusal).toContain(`refused by the webhook pod at ${podIP}`);

    await core.deleteNamespacedPod({ namespace: NS, name: "webhook", gracePeriodSeconds: 0 });
    await eventually(async () => expect(await readyEndpoints()).toEqual([]), { timeoutMs: 60_000, what: "the pod's endpoint gone" });
    const unreachable = await eventually(async () => {
      const message = await tryCreate(`probe-${n++}`);
      if (!message.includes("no endpoints available")) throw new Error(message);
      return message;
    }, { timeoutMs: 30_000, what: "the apiserver finding no endpoint" });
    expect(unreachable).toContain(`no endpoints available for service "webhook"`);
  }, 120_000);
});
