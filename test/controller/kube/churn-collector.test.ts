// Issue 21: a burst of cache changes triggers a full collection every `every` changes, at most once
// per interval; a slow trickle of changes, or an idle controller, never does.
import { expect, test } from "bun:test";
import { ChurnCollector } from "../../../controller/kube/churn-collector.ts";

test("a collection every 500 changes, at most one per 2 s; fewer changes never collect", () => {
  let now = 0;
  let collected = 0;
  const churn = new ChurnCollector(500, 2_000, () => collected++, () => now);
  for (let i = 0; i < 499; i++) churn.note();
  expect(collected).toBe(0);
  churn.note();
  expect(collected).toBe(1);
  // Another 500 within the interval: held back until the interval has passed, then one.
  for (let i = 0; i < 500; i++) churn.note();
  expect(collected).toBe(1);
  now += 2_000;
  churn.note();
  expect(collected).toBe(2);
  expect(churn.collections).toBe(2);
  // A trickle: 499 changes over an hour collect nothing.
  for (let i = 0; i < 499; i++) {
    now += 7_000;
    churn.note();
  }
  expect(collected).toBe(2);
});

test("the default collects with Bun.gc and the process goes on", () => {
  const churn = new ChurnCollector(2, 0);
  churn.note();
  churn.note();
  expect(churn.collections).toBe(1);
});
