// The flake finder's reading of bun's output: per-test lines under their file headers, the recap of
// failures at the end not counted twice, and run.sh's closing "N passed, N failed".
import { describe, expect, test } from "bun:test";
import { parseBunOutput, testKey } from "./parse.ts";

// Captured from `bash test/run.sh test/agent` (bun 1.4.5), a failure and a skip spliced in as bun prints them; the
// recap at the end stands under the last file's header (crash.test.ts), not under the failing test's.
const CAPTURED = `== type check (tsc --noEmit)
== test control plane binaries
control plane binaries ready in 0 s
== bun test
bun test v1.4.5 (a7733435c)

test/agent/process/bundle-expiry.test.ts:
(pass) agent on bun-binary: expiring bundle entries > a user certificate expiring in the bundle: the pod stays ready, the entry is dropped and reported; nothing valid left is refused [7574.62ms]
error: generation 2 written once writable not met within 15000 ms: check returned false
      at eventually (/tmp/es-mtls-flakes-x/es-mtls/test/support/eventually.ts:18:13)
(fail) agent on deno: expiring bundle entries > an expired entry is dropped [15102.11ms]
(skip) agent on deno: expiring bundle entries > not on this runtime

test/agent/process/crash.test.ts:
{"bun-binary":{"kills":110,"midWrite":110,"recovered":0,"published":103},"deno":{"kills":110,"midWrite":110,"recovered":1,"published":92}}
(pass) ≥ 200 kill -9 during writes (bun-binary + deno) never leave a torn set; restart recovers [136077.57ms]

1 tests skipped:
(skip) agent on deno: expiring bundle entries > not on this runtime


1 tests failed:
(fail) agent on deno: expiring bundle entries > an expired entry is dropped [15102.11ms]
  ^ this test timed out after 15000ms.

 2 pass
 1 skip
 1 fail
 9 expect() calls
Ran 4 tests across 2 files. [160.12s]
3 passed, 1 failed
`;

describe("parseBunOutput", () => {
  const summary = parseBunOutput(CAPTURED);

  test("each test under its file header, with its outcome and without the duration", () => {
    expect(summary.results).toEqual([
      {
        file: "test/agent/process/bundle-expiry.test.ts",
        name: "agent on bun-binary: expiring bundle entries > a user certificate expiring in the bundle: the pod stays ready, the entry is dropped and reported; nothing valid left is refused",
        outcome: "pass",
      },
      { file: "test/agent/process/bundle-expiry.test.ts", name: "agent on deno: expiring bundle entries > an expired entry is dropped", outcome: "fail" },
      { file: "test/agent/process/bundle-expiry.test.ts", name: "agent on deno: expiring bundle entries > not on this runtime", outcome: "skip" },
      { file: "test/agent/process/crash.test.ts", name: "≥ 200 kill -9 during writes (bun-binary + deno) never leave a torn set; restart recovers", outcome: "pass" },
    ]);
  });

  test("the recap of skipped and failed tests after the last file counts no second time", () => {
    expect(summary.results.filter((r) => r.outcome === "fail").map(testKey)).toEqual([
      "test/agent/process/bundle-expiry.test.ts > agent on deno: expiring bundle entries > an expired entry is dropped",
    ]);
  });

  test("run.sh's last line gives the run's totals; a run that died has none", () => {
    expect([summary.passed, summary.failed]).toEqual([3, 1]);
    expect(parseBunOutput("== bun test\nbun test v1.4.5\n\ntest/a.test.ts:\n(pass) x [1.00ms]\n")).toEqual({
      results: [{ file: "test/a.test.ts", name: "x", outcome: "pass" }],
      passed: undefined,
      failed: undefined,
    });
  });

  test("colours are ignored", () => {
    expect(parseBunOutput("\x1b[1mtest/a.test.ts:\x1b[0m\n\x1b[31m(fail)\x1b[0m y \x1b[2m[2.00ms]\x1b[0m\n").results).toEqual([{ file: "test/a.test.ts", name: "y", outcome: "fail" }]);
  });
});
