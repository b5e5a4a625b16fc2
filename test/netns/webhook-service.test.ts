// Runs webhook-service.inner.ts inside a network namespace of its own (private-network.ts) and
// passes when every test in it passed. Its tests' names and failures are printed here.
import { expect, test } from "bun:test";
import { join } from "node:path";
import { privateNetworkUnavailable, runInPrivateNetwork } from "./private-network.ts";

const unavailable = privateNetworkUnavailable();
const INNER = join(import.meta.dir, "webhook-service.inner.ts");

test.skipIf(!!unavailable)(`webhook reached through its Service at a pod IP, in a private network namespace${unavailable ? ` (skipped: ${unavailable})` : ""}`, async () => {
  const r = await runInPrivateNetwork(INNER, { timeoutMs: 240_000, onLine: (l) => console.error(`  [netns] ${l}`) });
  const passed = Number(/^\s*(\d+) pass$/m.exec(r.output)?.[1] ?? 0);
  const failed = Number(/^\s*(\d+) fail$/m.exec(r.output)?.[1] ?? 0);
  // Every inner test ran (none skipped: inside, they must not skip) and passed.
  expect({ status: r.status, passed, failed }).toEqual({ status: 0, passed: 2, failed: 0 });
}, 300_000);
