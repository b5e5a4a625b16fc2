// common/backoff.ts: the one jitter rule both sides reconnect and retry with.
import { describe, expect, test } from "bun:test";
import { backoffDelay } from "../../common/backoff.ts";

describe("backoff", () => {
  test("reconnect backoff is jittered within [min, capped max]", () => {
    for (let a = 0; a < 12; a++) {
      const d = backoffDelay(a, { minMs: 100, maxMs: 5000 });
      expect(d).toBeGreaterThanOrEqual(100);
      expect(d).toBeLessThanOrEqual(Math.min(5000, 100 * 2 ** a));
    }
    expect(backoffDelay(20, { minMs: 100, maxMs: 5000 }, () => 1)).toBe(5000);
  });
});
