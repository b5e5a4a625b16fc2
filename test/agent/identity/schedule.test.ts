// agent/identity/schedule.ts: when a leaf is renewed and how a failed request is retried.
import { describe, expect, test } from "bun:test";
import { renewalTime, retryDelay } from "../../../agent/identity/schedule.ts";

describe("identity", () => {
  test("renewal at 2/3 of the lifetime ±10 %", () => {
    const nb = new Date(0);
    const na = new Date(3_000_000);
    const at = (r: number) => renewalTime(nb, na, 2 / 3, () => r).getTime();
    expect(at(0.5)).toBe(2_000_000);
    expect(at(0)).toBeCloseTo(1_800_000, -1);
    expect(at(0.999999)).toBeCloseTo(2_200_000, -1);
    for (let i = 0; i < 200; i++) {
      const t = renewalTime(nb, na).getTime();
      expect(t).toBeGreaterThanOrEqual(1_800_000);
      expect(t).toBeLessThanOrEqual(2_200_000);
    }
  });
  test("retry delay grows, is capped, and never exceeds a third of the remaining validity", () => {
    const now = new Date(0);
    const far = new Date(10 * 86_400_000);
    const o = { minMs: 1000, maxMs: 300_000 };
    expect(retryDelay(0, now, far, o, () => 1)).toBe(1000);
    expect(retryDelay(3, now, far, o, () => 1)).toBe(8000);
    expect(retryDelay(30, now, far, o, () => 1)).toBe(300_000);
    const soon = new Date(60_000); // one minute left
    expect(retryDelay(30, now, soon, o, () => 1)).toBe(20_000);
    expect(retryDelay(30, now, new Date(1500), o, () => 1)).toBe(1000);
  });
});
