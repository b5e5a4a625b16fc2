import { describe, expect, test } from "bun:test";
import { WorkQueue } from "../../../controller/reconcile/queue.ts";
import { metrics } from "../../../controller/metrics.ts";

/** A handler whose calls stay open until released, recording overlaps per key and overall. */
function gatedHandler() {
  const running = new Map<string, number>();
  const gates: Array<{ key: string; release: () => void }> = [];
  const calls: string[] = [];
  let maxOverall = 0;
  let sameKeyOverlap = 0;
  const handler = (key: string) => {
    calls.push(key);
    const n = (running.get(key) ?? 0) + 1;
    running.set(key, n);
    if (n > 1) sameKeyOverlap++;
    maxOverall = Math.max(maxOverall, [...running.values()].reduce((a, b) => a + b, 0));
    return new Promise<void>((resolve) => {
      gates.push({
        key,
        release: () => {
          running.set(key, running.get(key)! - 1);
          resolve();
        },
      });
    });
  };
  const releaseAll = async () => {
    while (gates.length) {
      gates.splice(0).forEach((g) => g.release());
      await new Promise((r) => setTimeout(r, 1));
    }
  };
  return { handler, gates, calls, releaseAll, stats: () => ({ maxOverall, sameKeyOverlap }) };
}

const tick = () => new Promise((r) => setTimeout(r, 1));

describe("work queue concurrency", () => {
  test("two keys run at the same time; the same key never does, and one added while it runs runs once more afterwards", async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, 10, 100, 4);
    queue.start();
    queue.add("ns/a");
    queue.add("ns/b");
    await tick();
    // Both handlers are open at once: neither waited for the other.
    expect(h.gates.map((g) => g.key).sort()).toEqual(["ns/a", "ns/b"]);

    // a is re-added (three times: deduplicated) while it runs: it must not start a second time now.
    queue.add("ns/a");
    queue.add("ns/a");
    queue.add("ns/a");
    await tick();
    expect(h.calls).toEqual(["ns/a", "ns/b"]);

    h.gates.find((g) => g.key === "ns/a")!.release();
    await tick();
    expect(h.calls).toEqual(["ns/a", "ns/b", "ns/a"]);
    await h.releaseAll();
    await queue.idle();
    expect(h.calls.filter((k) => k === "ns/a").length).toBe(2);
    expect(h.stats()).toEqual({ maxOverall: 2, sameKeyOverlap: 0 });
    queue.stop();
  });

  test("no more than `concurrency` keys at once; everything queued is processed", async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, 10, 100, 3);
    queue.start();
    for (let i = 0; i < 10; i++) queue.add(`ns/c${i}`);
    await tick();
    expect(h.gates.length).toBe(3);
    await h.releaseAll();
    await queue.idle();
    expect(new Set(h.calls).size).toBe(10);
    expect(h.stats()).toEqual({ maxOverall: 3, sameKeyOverlap: 0 });
    queue.stop();
  });

  test("a failed key is retried with backoff while others go on", async () => {
    let attempts = 0;
    const done: string[] = [];
    const queue = new WorkQueue(async (key) => {
      if (key === "ns/bad" && ++attempts < 3) throw new Error("boom");
      done.push(key);
    }, 5, 20, 2);
    queue.start();
    queue.add("ns/bad");
    queue.add("ns/good");
    const deadline = Date.now() + 2_000;
    while (done.length < 2 && Date.now() < deadline) await tick();
    expect(done).toEqual(["ns/good", "ns/bad"]);
    expect(attempts).toBe(3);
    queue.stop();
  });

  test("concurrency must be a positive integer", () => {
    expect(() => new WorkQueue(async () => {}, 10, 100, 0)).toThrow("positive integer");
  });
});

describe("work queue lanes", () => {
  test("a change queued behind a whole resync runs before the resync's remaining keys", async () => {
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, 10, 100, 1);
    queue.start();
    for (let i = 0; i < 50; i++) queue.addResync(`ns/r${i}`);
    await tick();
    expect(h.calls).toEqual(["ns/r0"]);
    queue.add("ns/changed");
    queue.addResync("ns/changed"); // a resync does not demote a queued change
    h.gates.shift()!.release();
    await tick();
    expect(h.calls).toEqual(["ns/r0", "ns/changed"]);
    // A change to a key already waiting in the resync lane promotes it.
    queue.add("ns/r40");
    h.gates.shift()!.release();
    await tick();
    expect(h.calls).toEqual(["ns/r0", "ns/changed", "ns/r40"]);
    await h.releaseAll();
    await queue.idle();
    expect(h.calls.length).toBe(51);
    expect(new Set(h.calls).size).toBe(51);
    queue.stop();
  });

  test("the queue-wait histogram counts each lane apart: the change waited for one reconcile, not for the resync", async () => {
    const count = (lane: string) => Number(new RegExp(`^es_mtls_controller_reconcile_queue_wait_seconds_count\\{lane="${lane}"\\} (\\d+)$`, "m").exec(metrics.text())?.[1] ?? 0);
    const sum = (lane: string) => Number(new RegExp(`^es_mtls_controller_reconcile_queue_wait_seconds_sum\\{lane="${lane}"\\} (\\S+)$`, "m").exec(metrics.text())?.[1] ?? 0);
    const before = { change: count("change"), resync: count("resync"), changeSum: sum("change") };
    const h = gatedHandler();
    const queue = new WorkQueue(h.handler, 10, 100, 1);
    queue.start();
    for (let i = 0; i < 20; i++) queue.addResync(`ns/r${i}`);
    await tick();
    queue.add("ns/changed");
    const held = Date.now();
    while (Date.now() - held < 30) await tick(); // the change waits while r0 runs
    h.gates.shift()!.release();
    await tick();
    expect(h.calls.slice(0, 2)).toEqual(["ns/r0", "ns/changed"]);
    await h.releaseAll();
    await queue.idle();
    expect(count("change") - before.change).toBe(1);
    expect(count("resync") - before.resync).toBe(20);
    // It waited about as long as r0 ran (≥ 30 ms), not behind the 19 other resync keys.
    const waited = sum("change") - before.changeSum;
    expect(waited).toBeGreaterThanOrEqual(0.025);
    expect(waited).toBeLessThan(5);
    queue.stop();
  });

  test("a reconcile's own requeue and the keys listed before the queue started wait in the resync lane: a change goes first", async () => {
    const calls: string[] = [];
    const gates: Array<() => void> = [];
    let requeued = false;
    const handler = async (key: string) => {
      calls.push(key);
      if (key === "ns/r" && !requeued) {
        requeued = true;
        return { requeueAfterMs: 1 };
      }
      if (key.startsWith("ns/slow")) await new Promise<void>((r) => gates.push(r));
    };
    const queue = new WorkQueue(handler, 10, 100, 1);
    // The caches' initial listing, before leadership.
    queue.add("ns/slow-listed");
    queue.add("ns/listed");
    queue.start();
    await tick();
    expect(calls).toEqual(["ns/slow-listed"]);
    queue.add("ns/changed");
    gates.shift()!();
    await tick();
    expect(calls).toEqual(["ns/slow-listed", "ns/changed", "ns/listed"]);
    // A reconcile asks to be requeued; it comes due while another key runs; a change arrives after it.
    queue.add("ns/r");
    await tick();
    queue.add("ns/slow-2");
    const due = Date.now();
    while (Date.now() - due < 20) await tick(); // ns/r's 1 ms requeue timer fired meanwhile
    queue.add("ns/changed-2");
    gates.shift()!();
    await queue.idle();
    expect(calls.slice(3)).toEqual(["ns/r", "ns/slow-2", "ns/changed-2", "ns/r"]);
    queue.stop();
  });
});
