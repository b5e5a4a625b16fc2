// One cache of the labelled client-certificate Secrets, on its own in a process, for
// bench/labelled-secret-memory.ts: `--mode=whole` caches whole Secrets (as the controller did
// before issue 9), `--mode=metadata` uses the controller's own metadata-only list and watch
// (kube/informers.ts). `--selector=` caches another label instead (the managed-by label: the
// same metadata-only list and watch). Prints one JSON line once synced and garbage collected.
// Run: bun bench/support/labelled-secret-cache.ts --kubeconfig=FILE --mode=whole|metadata [--selector=LABEL=VALUE]
import { readFileSync } from "node:fs";
import * as k8s from "@kubernetes/client-node";
import { METADATA_LIST, metadataOnly } from "../../controller/kube/informers.ts";
import { CLIENT_CERTIFICATE_LABEL } from "../../controller/names.ts";

const argOf = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const mode = argOf("mode");
const kc = new k8s.KubeConfig();
kc.loadFromFile(argOf("kubeconfig")!);
const core = kc.makeApiClient(k8s.CoreV1Api);
const selector = argOf("selector") ?? `${CLIENT_CERTIFICATE_LABEL}=true`;
const informer =
  mode === "whole"
    ? new k8s.ListWatch<k8s.V1Secret>("/api/v1/secrets", new k8s.Watch(kc), () => core.listSecretForAllNamespaces({ labelSelector: selector }), false, selector)
    : new k8s.ListWatch<k8s.V1Secret>("/api/v1/secrets", new k8s.Watch(metadataOnly(kc)), () => core.listSecretForAllNamespaces({ labelSelector: selector }, k8s.setHeaderOptions("Accept", METADATA_LIST)), false, selector);
await informer.start();
const items = informer.list();
const dataBytes = items.reduce((n, s) => n + Object.values(s.data ?? {}).reduce((m, v) => m + v.length, 0), 0);
for (let i = 0; i < 3; i++) {
  Bun.gc(true);
  await Bun.sleep(200);
}
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
const status = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) / 1024;
console.log(JSON.stringify({ mode, items: items.length, cachedDataMiB: mib(dataBytes), heapUsedMiB: mib(process.memoryUsage().heapUsed), rssMiB: Math.round(status("VmRSS")), peakRssMiB: Math.round(status("VmHWM")) }));
await informer.stop();
process.exit(0);
