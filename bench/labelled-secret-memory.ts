// Memory bound of the labelled-Secret cache (issue 9 finding 8) on the real control plane:
// --secrets (default 300) Secrets labelled eck.k8s.elastic.co/client-certificate=true of about
// --mib (default 1) MiB each (a small tls.crt and padding), owned by an Elasticsearch with client
// authentication on, all in the apiserver before anything starts. Then, one after the other:
//   - baseline: a process caching them whole (what the controller did before), heap and RSS;
//   - the same process with the controller's metadata-only list and watch;
//   - the controller itself: RSS (VmRSS, peak VmHWM) once the cluster's bundle holds every
//     certificate (its tls.crt read on demand, 4 at a time).
// With --label=managed-by the Secrets carry es-mtls's own label instead (app.kubernetes.io/managed-by=
// es-mtls, the cluster's name label and a controller ownerReference to it: what a tenant can plant);
// the controller then reads none of them and only needs its own Secrets (bundle with the CA only).
// Run: npx bun bench/labelled-secret-memory.ts [--secrets=300] [--mib=1] [--label=client-certificate|managed-by]
// Prints one JSON object; exits 1 when the bundle never got every certificate.
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { x509 } from "../common/x509.ts";
import { ControlPlane } from "../test/controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../test/controlplane/crds.ts";
import { ELASTICSEARCH as ES } from "../controller/resources.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "../controller/pki/keys.ts";
import { ControllerProcess } from "../test/support/controller-process.ts";
import { prepareCluster } from "../test/support/cluster-setup.ts";
import { clientCertLabels } from "../test/support/client-cert-secret.ts";
import { eventually } from "../test/support/eventually.ts";

const argOf = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const SECRETS = Number(argOf("secrets") ?? 300);
const MIB = Number(argOf("mib") ?? 1);
const MANAGED = argOf("label") === "managed-by";
const MANAGED_LABELS = { "app.kubernetes.io/managed-by": "es-mtls", "elasticsearch.k8s.elastic.co/cluster-name": "es" };
const NS = "bulk";
const procStatus = (pid: number, field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? NaN) / 1024);

const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: false, controllerManager: false });
let controller: ControllerProcess | undefined;
let failed = false;
try {
  const kubeconfig = await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]);
  const core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await prepareCluster(core, [NS]);
  const es: any = await custom.createNamespacedCustomObject({ ...ES, namespace: NS, body: { apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", metadata: { name: "es" }, spec: { http: { tls: { client: { authentication: true } } } } } });
  const keys = await generateP256KeyPair();
  // Random padding: etcd and the apiserver cannot compress it away. Under a Secret's 1 MiB limit.
  const padding = Buffer.from(crypto.getRandomValues(new Uint8Array(Math.floor(MIB * 1024 * 1024) - 4096))).toString("base64");
  const t0 = Date.now();
  for (let i = 0; i < SECRETS; i++) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=bulk-${i}`, keys, signingAlgorithm: ECDSA_SHA256, notBefore: new Date(Date.now() - 3600_000), notAfter: new Date(Date.now() + 30 * 86400_000) });
    await core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: {
          name: `bulk-${String(i).padStart(3, "0")}`,
          labels: MANAGED ? MANAGED_LABELS : clientCertLabels("es", NS),
          ownerReferences: [{ apiVersion: `${ES.group}/${ES.version}`, kind: "Elasticsearch", name: "es", uid: es.metadata.uid, ...(MANAGED ? { controller: true } : {}) }],
        },
        data: { "tls.crt": btoa(cert.toString("pem") + "\n"), padding },
      },
    });
  }
  const createSeconds = Math.round((Date.now() - t0) / 100) / 10;

  const cacheRun = (mode: string) => {
    const selector = MANAGED ? ["--selector=app.kubernetes.io/managed-by=es-mtls"] : [];
    const r = spawnSync(process.execPath, [join(import.meta.dir, "support", "labelled-secret-cache.ts"), `--kubeconfig=${kubeconfig}`, `--mode=${mode}`, ...selector], { encoding: "utf8", maxBuffer: 1 << 20 });
    return JSON.parse(r.stdout.trim().split("\n").at(-1)!);
  };
  const whole = cacheRun("whole");
  const metadata = cacheRun("metadata");

  const t1 = Date.now();
  controller = await ControllerProcess.start({ kubeconfig, name: "controller", namespace: "es-mtls-system", extraArgs: ["--resync=5m"] });
  const pid = controller.child.pid!;
  let included = 0;
  try {
    await eventually(async () => {
      const bundle = atob((await core.readNamespacedSecret({ namespace: NS, name: "es-es-client-trust-bundle" })).data!["client-trust-bundle.crt"]!);
      included = bundle.split("BEGIN CERTIFICATE").length - 1;
      if (MANAGED) {
        // None of the planted ones is a trust source: the bundle holds the CA; the controller's own certificate exists.
        await core.readNamespacedSecret({ namespace: NS, name: "es-es-internal-client-cert" });
        return;
      }
      if (included < SECRETS + 1) throw new Error(`${included - 1}/${SECRETS} certificates in the bundle`);
    }, { timeoutMs: 300_000, intervalMs: 500, what: "every certificate in the bundle" });
  } catch (e) {
    failed = true;
    console.error(String(e));
  }
  const syncSeconds = Math.round((Date.now() - t1) / 100) / 10;
  const controllerRss = { afterSyncMiB: procStatus(pid, "VmRSS"), peakMiB: procStatus(pid, "VmHWM") };
  console.log(JSON.stringify({
    secrets: SECRETS,
    secretMiB: MIB,
    label: MANAGED ? "app.kubernetes.io/managed-by=es-mtls" : "eck.k8s.elastic.co/client-certificate=true",
    createSeconds,
    baselineWholeObjectCache: whole,
    metadataOnlyCache: metadata,
    controller: { bundleCertificates: included - 1, syncSeconds, ...controllerRss },
    heapSavedMiB: Math.round((whole.heapUsedMiB - metadata.heapUsedMiB) * 10) / 10,
  }, null, 2));
} finally {
  await controller?.stop();
  await cp.stop();
}
process.exit(failed ? 1 : 0);
