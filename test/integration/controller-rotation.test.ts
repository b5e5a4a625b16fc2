// Client CA rotation with an overlap: the new CA is trusted before anything it
// signs is presented, the previous one stays trusted until it expires, and the
// controller's own certificate moves to the new CA.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH as ES } from "../../controller/resources.ts";
import { firstIntents, podToken, servingCa, postStatus } from "../support/intent-client.ts";
import { INTENT_API_AUDIENCE, type Intent, type StatusReport } from "../../protocol/intent.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";
import { x509 } from "../../common/x509.ts";
import { clientCaSecretName } from "../../controller/names.ts";

let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
const ns = "rot";

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await prepareCluster(core, [ns]);
  const kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "es" } } });
  // A 50 s CA rotated 20 s before it expires: rotations at about 30 s and 60 s, so the
  // outgoing CA expires (at 50 s) before the next rotation, as with the 1 year / 24 h defaults.
  controller = await ControllerProcess.start({ kubeconfig, name: "controller", namespace: "es-mtls-system", extraArgs: ["--ca-cert-validity=50s", "--ca-cert-rotate-before=20s", "--cert-validity=20s", "--cert-rotate-before=5s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const certsIn = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((b) => new x509.X509Certificate(b));

const internalCert = async () => new x509.X509Certificate(atob((await core.readNamespacedSecret({ name: "r-es-internal-client-cert", namespace: ns })).data!["tls.crt"]!));
const conditionOf = async (type: string) =>
  ((await cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi).getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: ns, name: "r" })) as any).status.conditions.find((c: any) => c.type === type);

test("a rotated client CA overlaps with the previous one; the new CA signs only after every Elasticsearch pod loaded the bundle that trusts it", async () => {
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: { name: "r-es-default-0", labels: { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "r" } },
      spec: { serviceAccountName: "es", containers: [{ name: "elasticsearch", image: "stand-in" }] },
    },
  });
  await cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "r" }, spec: { http: { tls: { client: { authentication: true } } } } },
  });
  const first = await eventually(async () => new x509.X509Certificate(atob((await core.readNamespacedSecret({ name: clientCaSecretName(ns, "r"), namespace: "es-mtls-system" })).data!["tls.crt"]!)), { timeoutMs: 15_000, what: "first CA" });
  const rotated = await eventually(async () => {
    const s = await core.readNamespacedSecret({ name: clientCaSecretName(ns, "r"), namespace: "es-mtls-system" });
    const current = new x509.X509Certificate(atob(s.data!["tls.crt"]!));
    expect(current.serialNumber).not.toBe(first.serialNumber);
    expect(new x509.X509Certificate(atob(s.data!["previous-ca.crt"]!)).serialNumber).toBe(first.serialNumber);
    return current;
  }, { timeoutMs: 45_000, intervalMs: 500, what: "CA rotation" });
  // Both CAs are trusted during the overlap.
  const bundle = await eventually(async () => {
    const b = certsIn(atob((await core.readNamespacedSecret({ name: "r-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!));
    expect(b.map((c) => c.serialNumber)).toEqual(expect.arrayContaining([first.serialNumber, rotated.serialNumber]));
    return b;
  }, { timeoutMs: 10_000, what: "bundle trusts both CAs" });
  expect(bundle.length).toBeGreaterThanOrEqual(2);
  // The pod has not loaded the new bundle: the outgoing CA keeps signing (the controller's own
  // certificate is reissued by it when due), and the status says why.
  await eventually(async () => expect((await conditionOf("CARotated"))?.reason).toBe("WaitingForBundle"), { timeoutMs: 10_000, what: "waiting condition" });
  for (let i = 0; i < 4; i++) {
    expect(await (await internalCert()).verify({ publicKey: first.publicKey, signatureOnly: true })).toBe(true);
    await Bun.sleep(1000);
  }
  // The pod's agent reports the bundle that trusts the new CA: now the new CA signs.
  const ca = await servingCa(core, "es-mtls-system");
  const token = await podToken(core, pod, INTENT_API_AUDIENCE);
  const [intent] = (await eventually(async () => {
    const [i] = (await firstIntents(controller.url, ca, token)) as Intent[];
    expect(i!.trustBundle!.pem).toContain(rotated.toString("pem").split("\n")[1]!);
    return [i];
  }, { timeoutMs: 10_000, what: "intent with the rotated bundle" })) as Intent[];
  const report: StatusReport = { generation: intent!.generation, bundleSha256: intent!.trustBundle!.sha256, ready: true, errors: [] };
  const posted = await postStatus(controller.url, ca, token, report);
  expect(posted.status).toBe(204);
  await eventually(async () => {
    expect(await (await internalCert()).verify({ publicKey: rotated.publicKey, signatureOnly: true })).toBe(true);
    expect((await conditionOf("CARotated"))?.status).toBe("True");
  }, { timeoutMs: 15_000, intervalMs: 500, what: "controller certificate signed by the new CA" });
  // The previous CA stays trusted until it expires, then leaves the bundle (before the next rotation).
  const serials = async () => certsIn(atob((await core.readNamespacedSecret({ name: "r-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!)).map((c) => c.serialNumber);
  while (Date.now() < first.notAfter.getTime() - 1000) {
    expect(await serials()).toContain(first.serialNumber); // never dropped early
    await Bun.sleep(1000);
  }
  await eventually(async () => {
    const now = await serials();
    expect(now).not.toContain(first.serialNumber);
    expect(now).toContain(rotated.serialNumber);
  }, { timeoutMs: 15_000, intervalMs: 500, what: "expired previous CA dropped" });
}, 150_000);
