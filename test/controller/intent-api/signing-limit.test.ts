// Issue 9 item 7: signing is rate-limited per pod UID.
import { expect, test } from "bun:test";
import { SigningLimit } from "../../../controller/intent-api/signing-limit.ts";

test("a pod gets its burst, then one signature per refill period; another pod is not affected", () => {
  let now = 0;
  const limit = new SigningLimit({ burst: 3, refillMs: 60_000, now: () => now });
  expect([1, 2, 3].map(() => limit.take("pod-a").ok)).toEqual([true, true, true]);
  const refused = limit.take("pod-a");
  expect(refused.ok).toBe(false);
  expect(!refused.ok && refused.retryAfterMs).toBe(60_000);
  expect(limit.take("pod-b").ok).toBe(true);
  now += 30_000;
  expect(limit.take("pod-a").ok).toBe(false);
  now += 30_000;
  expect(limit.take("pod-a").ok).toBe(true);
  expect(limit.take("pod-a").ok).toBe(false);
  now += 10 * 60_000; // refills up to the burst, not beyond
  expect([1, 2, 3, 4].map(() => limit.take("pod-a").ok)).toEqual([true, true, true, false]);
});
