// Installs CustomResourceDefinitions from files or folders and waits until the
// apiserver serves them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";

/** The project's CRDs plus its own Elasticsearch and Kibana CRDs (tests run without ECK). */
export const PROJECT_CRDS = ["crds", "standalone-crds"].map((d) => join(import.meta.dir, "..", "..", "deploy", d));

export function readManifests(paths: string[]): Array<Record<string, any>> {
  const files: string[] = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      for (const f of readdirSync(p).sort()) if (/\.ya?ml$/.test(f)) files.push(join(p, f));
    } else files.push(p);
  }
  const docs: Array<Record<string, any>> = [];
  for (const f of files) {
    // loadAllYaml maps keys like x-kubernetes-preserve-unknown-fields to the typed
    // models; plain YAML objects would have them dropped by client-node's serializer.
    for (const obj of k8s.loadAllYaml(readFileSync(f, "utf8"))) if (obj && typeof obj === "object") docs.push(obj);
  }
  return docs;
}

export async function installCrds(kc: k8s.KubeConfig, paths: string[], timeoutMs = 30_000): Promise<string[]> {
  const api = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const crds = readManifests(paths).filter((d) => d.kind === "CustomResourceDefinition");
  for (const crd of crds) {
    try {
      await api.createCustomResourceDefinition({ body: crd as k8s.V1CustomResourceDefinition });
    } catch (e: any) {
      if (e?.code !== 409) throw new Error(`installing CRD ${crd.metadata?.name}: ${e?.body ?? e}`);
    }
  }
  const names = crds.map((c) => c.metadata.name as string);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === "Established" && c.status === "True")) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established after ${timeoutMs} ms`);
      await Bun.sleep(100);
    }
  }
  return names;
}
