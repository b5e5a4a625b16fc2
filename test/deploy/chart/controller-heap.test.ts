// Issue 21: Bun's JavaScriptCore sizes its heap from the node's memory unless told otherwise; the
// chart tells the controller its container's memory limit (downward API) and a smaller growth step.
// bench/controller-memory.ts runs the controller with what this resolves to (bench/support/chart-heap-env.ts).
import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { renderChart, skipReason } from "../../support/helm-chart.ts";
import { chartHeapEnv } from "../../../bench/support/chart-heap-env.ts";

if (skipReason) console.error(`skipping the controller's heap options in deploy/chart: ${skipReason}`);

describe.skipIf(!!skipReason)("the controller's heap options", () => {
  const controllerOf = (objects: unknown[]) => (objects as V1Deployment[]).find((o) => o.kind === "Deployment")!.spec!.template.spec!.containers.find((c) => c.name === "controller")!;

  test("BUN_JSC_forceRAMSize is the controller container's memory limit, read through the downward API; growth factors set", () => {
    const c = controllerOf(renderChart());
    const env = new Map((c.env ?? []).map((e) => [e.name, e]));
    expect(env.get("BUN_JSC_forceRAMSize")?.valueFrom?.resourceFieldRef).toEqual({ containerName: "controller", resource: "limits.memory" });
    for (const name of ["BUN_JSC_smallHeapGrowthFactor", "BUN_JSC_mediumHeapGrowthFactor", "BUN_JSC_largeHeapGrowthFactor"]) {
      const v = Number(env.get(name)?.value);
      expect(v).toBeGreaterThan(1);
      expect(v).toBeLessThan(2);
    }
  });

  test("the bench resolves it as the kubelet does: deploy/'s memory limit in bytes", () => {
    expect(controllerOf(renderChart()).resources!.limits!.memory).toBe("384Mi");
    expect(chartHeapEnv().BUN_JSC_forceRAMSize).toBe(String(384 * 2 ** 20));
  });
});
