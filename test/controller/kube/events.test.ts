// Issue 13 item 5: Events are deduplicated within a window (not for the life of the
// process), and a batch turns many occurrences of one cause into one Event with a count.
import { describe, expect, test } from "bun:test";
import type { CoreV1Event } from "@kubernetes/client-node";
import { DEFAULT_EVENT_WINDOW_MS, EventRecorder, type EventTarget } from "../../../controller/kube/events.ts";

const es: EventTarget = { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", namespace: "prod", name: "quickstart", uid: "uid-es" };
const other: EventTarget = { ...es, name: "other", uid: "uid-other" };

function recorder(options: { windowMs?: number; fail?: () => boolean } = {}) {
  let clock = 1_000;
  const written: CoreV1Event[] = [];
  const events = new EventRecorder(undefined, "controller-a", {
    ...(options.windowMs !== undefined ? { windowMs: options.windowMs } : {}),
    now: () => clock,
    create: async (_namespace, event) => {
      if (options.fail?.()) throw new Error("apiserver unavailable");
      written.push(event);
    },
  });
  return { events, written, advance: (ms: number) => (clock += ms) };
}

describe("event deduplication window", () => {
  test("the default window is 10 minutes", () => {
    expect(DEFAULT_EVENT_WINDOW_MS).toBe(600_000);
  });

  test("the same Event within the window is written once; a problem that comes back after the window is reported again", async () => {
    const { events, written, advance } = recorder();
    expect(await events.record(es, "Warning", "TLSDisabled", "HTTP TLS is disabled")).toBe(true);
    advance(60_000);
    expect(await events.record(es, "Warning", "TLSDisabled", "HTTP TLS is disabled")).toBe(false);
    advance(9 * 60_000 - 1);
    expect(await events.record(es, "Warning", "TLSDisabled", "HTTP TLS is disabled")).toBe(false);
    expect(written).toHaveLength(1);
    // Fixed, then broken again later: a new Event.
    advance(2);
    expect(await events.record(es, "Warning", "TLSDisabled", "HTTP TLS is disabled")).toBe(true);
    expect(written).toHaveLength(2);
  });

  test("the window is configurable, and keys differ by object, reason and message", async () => {
    const { events, written, advance } = recorder({ windowMs: 5_000 });
    await events.record(es, "Warning", "A", "m");
    await events.record(other, "Warning", "A", "m");
    await events.record(es, "Warning", "B", "m");
    await events.record(es, "Warning", "A", "m2");
    await events.record(es, "Warning", "A", "m");
    expect(written).toHaveLength(4);
    advance(5_000);
    await events.record(es, "Warning", "A", "m");
    expect(written).toHaveLength(5);
  });

  test("a failed write is not remembered: the next attempt writes", async () => {
    let failing = true;
    const { events, written } = recorder({ fail: () => failing });
    expect(await events.record(es, "Warning", "A", "m")).toBe(false);
    failing = false;
    expect(await events.record(es, "Warning", "A", "m")).toBe(true);
    expect(written).toHaveLength(1);
  });
});

describe("event batches", () => {
  test("37 Secrets left out for one cause make one Event with the count, per object and cause", async () => {
    const { events, written } = recorder();
    const batch = events.batch();
    for (let i = 0; i < 37; i++) batch.add(es, "Warning", "ClientCertificateRejected", "Secret(s) left out: bundle limit reached", `prod/s${String(i).padStart(2, "0")}`);
    batch.add(es, "Warning", "ClientCertificateRejected", "Secret(s) left out: bundle limit reached", "prod/s00"); // seen twice: counted once
    batch.add(es, "Warning", "ClientCertificateRejected", "Secret(s) left out: invalid certificate", "prod/bad");
    batch.add(other, "Warning", "ClientCertificateRejected", "Secret(s) left out: bundle limit reached", "prod/x");
    expect(batch.counts().get("Secret(s) left out: bundle limit reached")).toBe(37);
    expect(await batch.flush()).toBe(3);
    expect(written.map((e) => [e.involvedObject.name, e.message])).toEqual([
      ["quickstart", "37 Secret(s) left out: bundle limit reached (prod/s00, prod/s01, prod/s02, prod/s03, prod/s04, and 32 more)"],
      ["quickstart", "1 Secret(s) left out: invalid certificate (prod/bad)"],
      ["other", "1 Secret(s) left out: bundle limit reached (prod/x)"],
    ]);
  });

  test("within the window a changed count writes nothing new; after it, one new Event with the new count", async () => {
    const { events, written, advance } = recorder();
    const cause = "Secret(s) left out: bundle limit reached";
    const run = async (n: number) => {
      const batch = events.batch();
      for (let i = 0; i < n; i++) batch.add(es, "Warning", "ClientCertificateRejected", cause, `prod/s${i}`);
      return batch.flush();
    };
    expect(await run(37)).toBe(1);
    advance(1_000);
    expect(await run(38)).toBe(0);
    advance(DEFAULT_EVENT_WINDOW_MS);
    expect(await run(40)).toBe(1);
    expect(written.map((e) => e.message!.split(" (")[0])).toEqual([`37 ${cause}`, `40 ${cause}`]);
  });
});
