// deploy/chart/ installed by helm into the real kube-apiserver: every object it renders is accepted
// (the standalone CRDs included, as on a cluster without ECK); an upgrade changes a CRD (the chart
// ships its CRDs as templates, because Helm never upgrades a chart's crds/ folder); an uninstall
// removes the controller and keeps the CRDs and the controller's namespace (helm.sh/resource-policy:
// keep), so no cluster's ClientAuthentication or client CA goes with it. No controller runs: this is about the chart's objects.
// With priorityClass.create the controller's pods get the chart's PriorityClass's value from the
// apiserver's Priority admission plugin, and system-cluster-critical is admitted outside kube-system
// (v1.36 has no namespace rule for it; values.yaml says why the chart still names none by default).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { CHART, runHelm, skipReason } from "../support/helm-chart.ts";

if (skipReason) console.error(`skipping helm install of deploy/chart: ${skipReason}`);

const NS = "es-mtls-system";
const CA_CRD = "clientauthentications.mtls.es-mtls.io";
let cp: ControlPlane;
let kubeconfig: string;
let scratch: string;

const helmOn = (args: string[]) => runHelm([...args, "--kubeconfig", kubeconfig]);
const notFound = async (read: () => Promise<unknown>) => read().then(() => false, (e: unknown) => (e as { code?: number }).code === 404);

beforeAll(async () => {
  if (skipReason) return;
  // No CRDs of the harness: the chart brings its own.
  cp = await ControlPlane.start({ crds: [], controllerManager: false });
  kubeconfig = cp.certKubeconfigPath;
  scratch = mkdtempSync(join(tmpdir(), "es-mtls-chart-"));
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe.skipIf(!!skipReason)("helm install, upgrade and uninstall of deploy/chart", () => {
  test("install: the apiserver accepts every object", async () => {
    const r = helmOn(["install", "es-mtls", CHART, "--set", "standaloneCrds.enabled=true", "--set", "priorityClass.create=true"]);
    expect({ status: r.status, stderr: r.stderr.split("\n").filter((l) => !l.includes("symbolic link")).join("\n") }).toEqual({ status: 0, stderr: "" });
    const kc = cp.kubeConfig();
    const deployment = await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: "es-mtls-controller", namespace: NS });
    expect(deployment.spec!.replicas).toBe(2);
    const crds = (await kc.makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata!.name).sort();
    expect(crds).toEqual([CA_CRD, "elasticsearches.elasticsearch.k8s.elastic.co", "kibanas.kibana.k8s.elastic.co"]);
    const mutating = await kc.makeApiClient(k8s.AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: "es-mtls" });
    expect(mutating.webhooks![0]!.clientConfig.service).toMatchObject({ namespace: NS, name: "es-mtls-controller-webhook" });
    await kc.makeApiClient(k8s.AdmissionregistrationV1Api).readValidatingAdmissionPolicy({ name: "es-mtls-controller-writes" });
  }, 90_000);

  test("priorityClass.create: the controller's pods get its value; system-cluster-critical is admitted outside kube-system", async () => {
    const kc = cp.kubeConfig();
    const pc = await kc.makeApiClient(k8s.SchedulingV1Api).readPriorityClass({ name: "es-mtls-controller" });
    expect({ value: pc.value, globalDefault: pc.globalDefault ?? false }).toEqual({ value: 1_000_000_000, globalDefault: false });
    const template = (await kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: "es-mtls-controller", namespace: NS })).spec!.template;
    expect(template.spec!.priorityClassName).toBe("es-mtls-controller");
    // A pod as the ReplicaSet would make it (no kube-controller-manager here), and one naming the system class.
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const priorityOf = async (name: string, priorityClassName: string) => {
      const pod = await core.createNamespacedPod({ namespace: NS, body: { metadata: { name, labels: template.metadata!.labels }, spec: { ...template.spec!, priorityClassName } } });
      return pod.spec!.priority;
    };
    expect(await priorityOf("controller-priority-probe", "es-mtls-controller")).toBe(1_000_000_000);
    expect(await priorityOf("controller-system-priority-probe", "system-cluster-critical")).toBe(2_000_000_000);
    for (const name of ["controller-priority-probe", "controller-system-priority-probe"]) await core.deleteNamespacedPod({ namespace: NS, name, gracePeriodSeconds: 0 });
  }, 60_000);

  test("upgrade: a changed CRD is applied", async () => {
    // The chart as a release would change it: a copy (links resolved) whose CRD has one more short name.
    const copy = join(scratch, "chart");
    cpSync(CHART, copy, { recursive: true, dereference: true });
    const file = join(copy, "files", "crds", `mtls.es-mtls.io_clientauthentications.yaml`);
    const before = readFileSync(file, "utf8");
    expect(before).toContain("shortNames: [esmtls]");
    writeFileSync(file, before.replace("shortNames: [esmtls]", "shortNames: [esmtls, esmtlsauth]"));
    const r = helmOn(["upgrade", "es-mtls", copy, "--set", "standaloneCrds.enabled=true", "--set", "priorityClass.create=true"]);
    expect(r.status).toBe(0);
    const crd = await cp.kubeConfig().makeApiClient(k8s.ApiextensionsV1Api).readCustomResourceDefinition({ name: CA_CRD });
    expect(crd.spec.names.shortNames).toEqual(["esmtls", "esmtlsauth"]);
    expect(crd.metadata!.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  }, 90_000);

  test("uninstall: the controller goes, the CRDs and the namespace (with a client CA in it) stay", async () => {
    const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    // As the controller makes one: not Helm's, so only the namespace's deletion would take it.
    await core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: "client-ca-search-logs-0123456789" }, data: { "tls.key": "a2V5" } } });
    const r = helmOn(["uninstall", "es-mtls"]);
    expect(r.status).toBe(0);
    const kc = cp.kubeConfig();
    expect(await notFound(() => kc.makeApiClient(k8s.AppsV1Api).readNamespacedDeployment({ name: "es-mtls-controller", namespace: NS }))).toBe(true);
    expect(await notFound(() => kc.makeApiClient(k8s.RbacAuthorizationV1Api).readClusterRole({ name: "es-mtls-controller" }))).toBe(true);
    expect(await notFound(() => kc.makeApiClient(k8s.SchedulingV1Api).readPriorityClass({ name: "es-mtls-controller" }))).toBe(true);
    const crds = (await kc.makeApiClient(k8s.ApiextensionsV1Api).listCustomResourceDefinition()).items.map((c) => c.metadata!.name).sort();
    expect(crds).toEqual([CA_CRD, "elasticsearches.elasticsearch.k8s.elastic.co", "kibanas.kibana.k8s.elastic.co"]);
    expect((await core.readNamespace({ name: NS })).metadata!.deletionTimestamp).toBeUndefined();
    expect((await core.readNamespacedSecret({ namespace: NS, name: "client-ca-search-logs-0123456789" })).data).toEqual({ "tls.key": "a2V5" });
  }, 90_000);
});
