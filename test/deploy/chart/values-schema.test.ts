// deploy/chart/values.schema.json refuses a wrong value with a message naming the value, what it got
// and what it wants (helm's own words, asserted as helm prints them), and refuses a misspelt key.
import { describe, expect, test } from "bun:test";
import { renderChart, skipReason } from "../../support/helm-chart.ts";

if (skipReason) console.error(`skipping deploy/chart values schema: ${skipReason}`);

/** helm's refusal of `--set key=value`, or "accepted". */
function refusal(key: string, value: string): string {
  try {
    renderChart({ [key]: value });
    return "accepted";
  } catch (e) {
    return e instanceof Error ? e.message : String(e);
  }
}

describe.skipIf(!!skipReason)("deploy/chart values schema", () => {
  test('replicas: "two" is refused: an integer is wanted', () => {
    const m = refusal("replicas", "two");
    expect(m).toContain("values don't meet the specifications of the schema");
    expect(m).toContain("- at '/replicas': got string, want integer");
  });

  test("webhook.failurePolicy: Maybe is refused, naming Fail and Ignore", () => {
    const m = refusal("webhook.failurePolicy", "Maybe");
    expect(m).toContain("- at '/webhook/failurePolicy': value must be one of 'Fail', 'Ignore'");
  });

  test("a timeout above the apiserver's 30 s, a log level and a pull policy outside their lists are refused", () => {
    expect(refusal("webhook.timeoutSeconds", "31")).toContain("- at '/webhook/timeoutSeconds': maximum: got 31, want 30");
    expect(refusal("logLevel", "verbose")).toMatch(/\/logLevel/);
    expect(refusal("image.pullPolicy", "Sometimes")).toMatch(/\/image\/pullPolicy/);
  });

  test("priorityClassName must be a string that names an object; priorityClass.value stays in the users' range", () => {
    expect(refusal("priorityClassName", "5")).toContain("- at '/priorityClassName': got number, want string");
    expect(refusal("priorityClassName", "Critical_Class")).toContain("- at '/priorityClassName': 'Critical_Class' does not match pattern");
    // Above 1000000000 the apiserver reserves the value for system-* classes.
    expect(refusal("priorityClass.value", "2000000000")).toContain("- at '/priorityClass/value': maximum: got 2×10⁰⁹, want 1×10⁰⁹");
    expect(refusal("priorityClass.create", "yes")).toContain("- at '/priorityClass/create': got string, want boolean");
    expect(refusal("priorityClassName", "system-cluster-critical")).toBe("accepted");
  });

  test("the agent's resources must be Kubernetes quantities", () => {
    expect(refusal("agent.resources.requests.memory", "80MB")).toContain("- at '/agent/resources/requests/memory': '80MB' does not match pattern");
    expect(refusal("agent.resources.limits.cpu", "500m")).toBe("accepted");
  });

  test("a misspelt key is refused, not ignored", () => {
    expect(refusal("replica", "3")).toContain("additional properties 'replica' not allowed");
  });

  test("an extra flag must look like --name=value", () => {
    expect(refusal("extraArgs[0]", "resync=1m")).toContain("- at '/extraArgs/0': 'resync=1m' does not match pattern");
    expect(refusal("extraArgs[0]", "--resync=1m")).toBe("accepted");
  });
});
