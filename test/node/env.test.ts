// The test node's downward API for env: resourceFieldRef as the kubelet resolves it. The apiserver
// stores an unset divisor as "0" (the chart's BUN_JSC_forceRAMSize came out as "Infinity" here, and
// the controller refused to start), and the kubelet reads a zero divisor as 1.
import { describe, expect, test } from "bun:test";
import { resourceValue } from "./env.ts";

const container = { name: "controller", resources: { limits: { memory: "384Mi", cpu: "500m" } } };

describe("resourceFieldRef", () => {
  test("the limit in bytes, with the divisor unset or stored as \"0\" by the apiserver", () => {
    expect(resourceValue({ resource: "limits.memory", containerName: "controller" }, container, {})).toBe("402653184");
    expect(resourceValue({ resource: "limits.memory", containerName: "controller", divisor: "0" as never }, container, {})).toBe("402653184");
  });

  test("a divisor divides and rounds up; no limit: the node's capacity", () => {
    expect(resourceValue({ resource: "limits.memory", divisor: "1Mi" as never }, container, {})).toBe("384");
    expect(resourceValue({ resource: "limits.cpu", divisor: "1" as never }, container, {})).toBe("1");
    expect(resourceValue({ resource: "limits.memory" }, { name: "x" }, { memory: "16Gi" })).toBe(String(16 * 2 ** 30));
  });
});
