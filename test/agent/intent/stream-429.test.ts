// A 429 too_many_streams from the controller (issue 9 item 4) is an ordinary failed connection for
// the agent's intent stream: it is reported, waited out with the backoff, and retried until a slot
// is free. The controller is a fake client here; the real 429 is in test/controller/intent-api/server-limits.test.ts.
import { expect, test } from "bun:test";
import { IntentStream } from "../../../agent/intent/stream.ts";
import { ControllerError } from "../../../agent/errors.ts";
import type { Intent } from "../../../protocol/intent.ts";
import { eventually } from "../../support/eventually.ts";

const BACKOFF_MIN_MS = 200;

test("the intent stream retries a 429 too_many_streams with its backoff, then streams", async () => {
  const attempts: number[] = [];
  const client = {
    async request(): Promise<Response> {
      attempts.push(Date.now());
      if (attempts.length <= 2) throw new ControllerError("GET /v1/intent answered 429 too_many_streams: pod already holds 4 intent streams (at most 4)", 429);
      const line = JSON.stringify({ type: "intent", generation: 3 } as Partial<Intent>) + "\n";
      return new Response(new ReadableStream({ start: (c) => c.enqueue(new TextEncoder().encode(line)) }));
    },
  };
  const stream = new IntentStream(client, { heartbeatTimeoutMs: 30_000, backoffMinMs: BACKOFF_MIN_MS, backoffMaxMs: 2_000 });
  const disconnects: string[] = [];
  const intents: Intent[] = [];
  stream.start({ onIntent: (i) => void intents.push(i), onBadLine: () => {}, onConnected: () => {}, onDisconnected: (r) => void disconnects.push(r) });
  try {
    await eventually(() => expect(intents.map((i) => i.generation)).toEqual([3]), { what: "the intent after two 429s" });
    expect(disconnects.slice(0, 2).every((r) => /429 too_many_streams/.test(r))).toBe(true);
    // Equal jitter: at least half the step (min, then 2 × min) before each retry.
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(BACKOFF_MIN_MS / 2 - 5);
    expect(attempts[2]! - attempts[1]!).toBeGreaterThanOrEqual(BACKOFF_MIN_MS - 5);
  } finally {
    stream.stop();
  }
});
