// The JavaScriptCore options the chart gives the controller (deploy/deployment.yaml, rendered from
// deploy/chart/), resolved as the kubelet resolves them: BUN_JSC_forceRAMSize from the container's
// memory limit. Benchmarks run the controller with them, so they measure what is shipped.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";

const UNITS: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, K: 1e3, M: 1e6, G: 1e9, "": 1 };

export function bytesOf(quantity: string): number {
  const m = /^(\d+)(Ki|Mi|Gi|K|M|G)?$/.exec(quantity);
  if (!m) throw new Error(`unsupported memory quantity ${quantity}`);
  return Number(m[1]) * UNITS[m[2] ?? ""]!;
}

export function chartHeapEnv(file = join(import.meta.dir, "..", "..", "deploy", "deployment.yaml")): Record<string, string> {
  const deployment = (k8s.loadAllYaml(readFileSync(file, "utf8")) as k8s.V1Deployment[]).find((o) => o.kind === "Deployment")!;
  const container = deployment.spec!.template.spec!.containers.find((c) => c.name === "controller")!;
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (!e.name.startsWith("BUN_JSC_")) continue;
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.resourceFieldRef?.resource === "limits.memory") env[e.name] = String(bytesOf(container.resources!.limits!.memory!));
    else throw new Error(`${e.name}: a source this bench does not resolve`);
  }
  return env;
}
