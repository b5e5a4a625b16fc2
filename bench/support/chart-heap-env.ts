// The JavaScriptCore options the chart gives the controller (deploy/deployment.yaml, rendered from
// deploy/chart/), resolved as the test node's kubelet resolves a container's env (test/node/env.ts):
// BUN_JSC_forceRAMSize from the container's memory limit. Benchmarks run the controller with them,
// so they measure what is shipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { resourceValue } from "../../test/node/env.ts";

export function chartHeapEnv(file = join(import.meta.dir, "..", "..", "deploy", "deployment.yaml")): Record<string, string> {
  const deployment = (k8s.loadAllYaml(readFileSync(file, "utf8")) as k8s.V1Deployment[]).find((o) => o.kind === "Deployment")!;
  const container = deployment.spec!.template.spec!.containers.find((c) => c.name === "controller")!;
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (!e.name.startsWith("BUN_JSC_")) continue;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.resourceFieldRef) env[e.name] = resourceValue(e.valueFrom.resourceFieldRef, container, {});
    else throw new Error(`${e.name}: a source this bench does not resolve`);
  }
  return env;
}

/** A bench's `--heap-env=`: the chart's options (what is shipped, the default) or none (JSC's defaults). */
export function heapEnvFlag(flag: string | undefined): Record<string, string> {
  return (flag ?? "chart") === "chart" ? chartHeapEnv() : {};
}
