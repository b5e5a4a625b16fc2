// common/quantity.ts: Kubernetes quantities read as the apiserver reads them, so what the controller
// lets through (its --agent-* flags, a pod's agent-resources annotation) the apiserver accepts too.
import { expect, test } from "bun:test";
import { limitBelowRequest, parseQuantity } from "../../common/quantity.ts";

test("binary and decimal suffixes, millis, exponents and plain numbers", () => {
  expect(parseQuantity("80Mi")).toBe(80 * 2 ** 20);
  expect(parseQuantity("1Gi")).toBe(2 ** 30);
  expect(parseQuantity("1G")).toBe(1e9);
  expect(parseQuantity("10m")).toBeCloseTo(0.01);
  expect(parseQuantity("0.5")).toBe(0.5);
  expect(parseQuantity(".5")).toBe(0.5);
  expect(parseQuantity("1e3")).toBe(1000);
  expect(parseQuantity("1E")).toBe(1e18);
  expect(parseQuantity("2")).toBe(2);
  expect(parseQuantity("+1Ki")).toBe(1024);
});

test("anything else is not a quantity: negative, unit words, spaces, lower-case binary suffixes, empty", () => {
  for (const bad of ["", "-1", "80MB", "80 Mi", "80mi", "Mi", "1.2.3", "ten", "1e", "0x10", "Infinity"]) {
    expect({ bad, value: parseQuantity(bad) }).toEqual({ bad, value: undefined });
  }
});

test("a limit below its request is named with both values; equal or above is fine, across units", () => {
  const r = (cpuReq: string, memReq: string, cpuLim: string, memLim: string) => ({ requests: { cpu: cpuReq, memory: memReq }, limits: { cpu: cpuLim, memory: memLim } });
  expect(limitBelowRequest(r("10m", "80Mi", "200m", "160Mi"))).toBeUndefined();
  expect(limitBelowRequest(r("1", "1Gi", "1000m", "1024Mi"))).toBeUndefined();
  expect(limitBelowRequest(r("10m", "96Mi", "200m", "0.09Gi"))).toEqual({ resource: "memory", request: "96Mi", limit: "0.09Gi" });
  expect(limitBelowRequest(r("0.5", "80Mi", "200m", "160Mi"))).toEqual({ resource: "cpu", request: "0.5", limit: "200m" });
});
