// Reads `bun test` output (as `bash test/run.sh` prints it) into per-test results for the flake
// finder (test/flakes/main.ts). Bun prints a header per file ("test/x.test.ts:"), one line per
// test ("(pass) describe > name [1.23ms]", "(fail) …", "(skip) …", "(todo) …"), and, after the
// last file, the skipped and failed ones again under "N tests skipped:" / "N tests failed:": that
// repeat is not counted twice.

export type Outcome = "pass" | "fail" | "skip" | "todo";

export interface TestResult {
  /** The file header the line stood under ("" when bun printed none before it). */
  file: string;
  /** The test's full name as bun prints it: describe blocks and the test, joined by " > ". */
  name: string;
  outcome: Outcome;
}

export interface RunSummary {
  results: TestResult[];
  /** From run.sh's last line "N passed, N failed" (it counts the type check as one); undefined when absent (the run died). */
  passed: number | undefined;
  failed: number | undefined;
}

// Bun 1.x ends each file header with a colon; it is a path with a test suffix.
const FILE_HEADER = /^(\S.*\.(?:test|spec)\.[cm]?[jt]sx?):$/;
const RESULT = /^\((pass|fail|skip|todo)\) (.+?)(?: \[[\d.]+(?:ms|s)\])?$/;
const RECAP = /^\d+ tests? (?:failed|skipped|todo):$/;
const RUN_TOTALS = /^(\d+) passed, (\d+) failed$/;

// Colours, in case a terminal-like environment made bun add them.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

export function parseBunOutput(text: string): RunSummary {
  const results: TestResult[] = [];
  const seen = new Set<string>();
  let file = "";
  let recap = false;
  let passed: number | undefined;
  let failed: number | undefined;
  for (const raw of text.split("\n")) {
    const line = raw.replace(ANSI, "").trimEnd();
    const totals = RUN_TOTALS.exec(line);
    if (totals) {
      passed = Number(totals[1]);
      failed = Number(totals[2]);
      continue;
    }
    if (RECAP.test(line)) {
      recap = true; // what follows repeats tests already counted under their file
      continue;
    }
    const header = FILE_HEADER.exec(line);
    if (header) {
      file = header[1]!;
      recap = false;
      continue;
    }
    if (recap) continue;
    const result = RESULT.exec(line);
    if (!result) continue;
    const entry: TestResult = { file, name: result[2]!, outcome: result[1] as Outcome };
    const key = `${entry.file}\0${entry.name}\0${entry.outcome}`;
    if (seen.has(key)) continue;
    seen.add(key);
    results.push(entry);
  }
  return { results, passed, failed };
}

/** "file > name", the key failures are counted under. */
export function testKey(r: Pick<TestResult, "file" | "name">): string {
  return r.file ? `${r.file} > ${r.name}` : r.name;
}
