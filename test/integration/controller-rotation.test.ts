// Client CA rotation with an overlap: the new CA is trusted before anything it
// signs is presented, the previous one stays trusted until it expires, and the
// controller's own certificate moves to the new CA.
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { ELASTICSEARCH as ES } from "../../controller/kube/resources.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { eventually } from "../support/eventually.ts";
import { x509 } from "../../controller/pki/x509.ts";

let cp: ControlPlane;
let controller: ControllerProcess;
let core: k8s.CoreV1Api;
const ns = "rot";

beforeAll(async () => {
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, controllerManager: false });
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  for (const n of [ns, "es-mtls-system", "elastic-system"]) await core.createNamespace({ body: { metadata: { name: n } } });
  await core.createNamespacedConfigMap({ namespace: "elastic-system", body: { metadata: { name: "elastic-licensing" }, data: { eck_license_level: "enterprise" } } });
  const kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  // A 40 s CA rotated 30 s before it expires: the first rotation comes about 10 s in.
  controller = await ControllerProcess.start({ kubeconfig, name: "controller", namespace: "es-mtls-system", extraArgs: ["--ca-cert-validity=40s", "--ca-cert-rotate-before=30s", "--cert-validity=20s", "--cert-rotate-before=5s"] });
  await controller.waitReady();
}, 900_000);

afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

const certsIn = (pem: string) => (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((b) => new x509.X509Certificate(b));

test("a rotated client CA overlaps with the previous one, and the controller's certificate follows the new CA", async () => {
  await cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    ...ES,
    namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "r" }, spec: { http: { tls: { client: { authentication: true } } } } },
  });
  const first = await eventually(async () => new x509.X509Certificate(atob((await core.readNamespacedSecret({ name: "r-es-client-ca", namespace: ns })).data!["tls.crt"]!)), { timeoutMs: 15_000, what: "first CA" });
  const rotated = await eventually(async () => {
    const s = await core.readNamespacedSecret({ name: "r-es-client-ca", namespace: ns });
    const current = new x509.X509Certificate(atob(s.data!["tls.crt"]!));
    expect(current.serialNumber).not.toBe(first.serialNumber);
    expect(new x509.X509Certificate(atob(s.data!["previous-ca.crt"]!)).serialNumber).toBe(first.serialNumber);
    return current;
  }, { timeoutMs: 30_000, intervalMs: 500, what: "CA rotation" });
  // Both CAs are trusted during the overlap.
  const bundle = await eventually(async () => {
    const b = certsIn(atob((await core.readNamespacedSecret({ name: "r-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!));
    expect(b.map((c) => c.serialNumber)).toEqual(expect.arrayContaining([first.serialNumber, rotated.serialNumber]));
    return b;
  }, { timeoutMs: 10_000, what: "bundle trusts both CAs" });
  expect(bundle.length).toBeGreaterThanOrEqual(2);
  // The controller's own certificate is reissued by the new CA.
  await eventually(async () => {
    const leaf = new x509.X509Certificate(atob((await core.readNamespacedSecret({ name: "r-es-internal-client-cert", namespace: ns })).data!["tls.crt"]!));
    expect(await leaf.verify({ publicKey: rotated.publicKey, signatureOnly: true })).toBe(true);
  }, { timeoutMs: 15_000, intervalMs: 500, what: "controller certificate signed by the new CA" });
  // After the previous CA expires it leaves the bundle; the bundle never becomes empty.
  await eventually(async () => {
    const b = certsIn(atob((await core.readNamespacedSecret({ name: "r-es-client-trust-bundle", namespace: ns })).data!["client-trust-bundle.crt"]!));
    expect(b.map((c) => c.serialNumber)).not.toContain(first.serialNumber);
    expect(b.length).toBeGreaterThan(0);
  }, { timeoutMs: 60_000, intervalMs: 1000, what: "expired previous CA dropped" });
}, 120_000);
