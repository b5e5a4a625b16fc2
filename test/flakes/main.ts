// The on-demand flake finder (`npm run flakes -- --runs N [paths…]`): runs `bash test/run.sh` N times
// one after the other, each in a fresh `git clone` of the current HEAD (a clean tree, as CI has),
// and prints how often each test failed. Not a test; see --help.
import { spawn, spawnSync } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { agentBinDir } from "../support/agent-harness.ts";
import { parseBunOutput, testKey, type TestResult } from "./parse.ts";

const HELP = `npm run flakes -- [--runs N] [--npm-ci] [--keep] [--out FILE] [bun test paths…]

Runs \`bash test/run.sh [paths…]\` N times in a row (never in parallel), each time in a fresh
\`git clone\` of this checkout's HEAD in a temporary directory, and counts each test's failures.
Uncommitted changes are not in the clones: commit first.

  --runs N     how many runs (default 5)
  --npm-ci     run \`npm ci\` in every clone, as CI does; without it each clone's node_modules
               is a symlink to this checkout's (same lockfile, saves minutes per run)
  --keep       keep the clones (default: removed after each run; the logs are kept)
  --out FILE   the JSON results (default .tmp/flakes.json; each run's log beside it in .tmp/flakes/)
  paths…       passed to bun test through run.sh (default: the whole suite)

Each clone is alone in its directory, as a fresh clone is (no sibling ../shared). Prints each run's duration and its "N passed, N failed" line, then every test that failed
at least once with its count over the runs. Exits 1 when any run failed.

Example: npm run flakes -- --runs 5 test/integration/controller-intent-api.test.ts`;

interface Options {
  runs: number;
  npmCi: boolean;
  keep: boolean;
  out: string;
  paths: string[];
}

function parseArgs(argv: string[], root: string): Options {
  const o: Options = { runs: 5, npmCi: false, keep: false, out: join(root, ".tmp", "flakes.json"), paths: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.startsWith("--") && a.includes("=") ? [a.slice(0, a.indexOf("=")), a.slice(a.indexOf("=") + 1)] : [a, undefined];
    const value = () => inline ?? argv[++i] ?? fail(`${flag} needs a value`);
    if (flag === "--help" || flag === "-h") {
      console.log(HELP);
      process.exit(0);
    } else if (flag === "--runs") {
      o.runs = Number(value());
      if (!Number.isInteger(o.runs) || o.runs < 1) fail(`--runs: expected a positive integer, got ${JSON.stringify(a)}`);
    } else if (flag === "--npm-ci") o.npmCi = true;
    else if (flag === "--keep") o.keep = true;
    else if (flag === "--out") o.out = resolve(value());
    else if (flag.startsWith("--")) fail(`unknown option ${flag} (see --help)`);
    else o.paths.push(a);
  }
  return o;
}

function fail(message: string): never {
  console.error(`flakes: ${message}`);
  process.exit(2);
}

function git(args: string[], cwd: string): string {
  const r = spawnSync(["git", ...args], { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) fail(`git ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString().trim();
}

async function run(cmd: string[], cwd: string, log: fs.WriteStream): Promise<number> {
  // One process group per run (run.sh kills its own at the end; a clone's leftovers die with it).
  const p = spawn(cmd, { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" } });
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) log.write(chunk);
  };
  await Promise.all([pump(p.stdout), pump(p.stderr)]);
  return p.exited;
}

interface RunRecord {
  run: number;
  durationMs: number;
  exitCode: number;
  passed: number | undefined;
  failed: number | undefined;
  /** Tests bun reported "(fail)"; a failure outside any test (type check, a crashed file) is only in `failed`. */
  failures: string[];
  log: string;
}

async function main(): Promise<void> {
  const root = git(["rev-parse", "--show-toplevel"], process.cwd());
  const o = parseArgs(process.argv.slice(2), root);
  const commit = git(["rev-parse", "HEAD"], root);
  if (git(["status", "--porcelain", "--untracked-files=no"], root)) console.log("flakes: note: uncommitted changes are not in the clones (they run HEAD)");
  const logDir = join(dirname(o.out), "flakes");
  fs.mkdirSync(logDir, { recursive: true });
  const modules = fs.realpathSync(join(root, "node_modules"));

  console.log(`flakes: ${o.runs} run(s) of bash test/run.sh ${o.paths.join(" ") || "(whole suite)"} at ${commit.slice(0, 12)}, ${o.npmCi ? "npm ci" : "node_modules linked"} in each clean clone`);
  const records: RunRecord[] = [];
  for (let n = 1; n <= o.runs; n++) {
    const base = fs.mkdtempSync(join(os.tmpdir(), "es-mtls-flakes-"));
    const repo = join(base, "es-mtls");
    const logFile = join(logDir, `run-${n}.log`);
    const log = fs.createWriteStream(logFile);
    const started = performance.now();
    let exitCode: number;
    try {
      git(["clone", "--quiet", "--no-checkout", root, repo], base);
      git(["checkout", "--quiet", "--detach", commit], repo);
      if (o.npmCi) {
        const ci = await run(["npm", "ci", "--no-audit", "--no-fund"], repo, log);
        if (ci !== 0) fail(`npm ci failed in ${repo} (log: ${relative(root, logFile)})`);
      } else fs.symlinkSync(modules, join(repo, "node_modules"));
      exitCode = await run(["bash", "test/run.sh", ...o.paths], repo, log);
    } finally {
      await new Promise((r) => log.end(r));
      if (!o.keep) {
        fs.rmSync(base, { recursive: true, force: true });
        fs.rmSync(agentBinDir(repo), { recursive: true, force: true }); // the agent binary the clone's tests built
      }
    }
    const durationMs = Math.round(performance.now() - started);
    const summary = parseBunOutput(fs.readFileSync(logFile, "utf8"));
    const failures = summary.results.filter((r: TestResult) => r.outcome === "fail").map(testKey);
    records.push({ run: n, durationMs, exitCode, passed: summary.passed, failed: summary.failed, failures, log: relative(root, logFile) });
    const line = summary.passed === undefined ? `no "N passed, N failed" line (exit ${exitCode})` : `${summary.passed} passed, ${summary.failed} failed`;
    console.log(`run ${n}/${o.runs}: ${line} in ${(durationMs / 1000).toFixed(1)} s${o.keep ? ` (clone: ${repo})` : ""}`);
    for (const f of failures) console.log(`  (fail) ${f}`);
  }

  const counts = new Map<string, number>();
  for (const r of records) for (const f of r.failures) counts.set(f, (counts.get(f) ?? 0) + 1);
  const byTest = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const redRuns = records.filter((r) => r.exitCode !== 0 || (r.failed ?? 1) > 0).length;
  console.log(`\n${o.runs - redRuns} of ${o.runs} runs green`);
  if (byTest.length === 0 && redRuns > 0) console.log("no test reported (fail): see the logs (type check, a crashed file, or a run that died)");
  for (const [name, count] of byTest) console.log(`  ${count}/${o.runs}  ${name}`);
  fs.writeFileSync(
    o.out,
    JSON.stringify({ commit, command: ["bash", "test/run.sh", ...o.paths], npmCi: o.npmCi, runs: records, failuresByTest: Object.fromEntries(byTest) }, null, 2) + "\n",
  );
  console.log(`results: ${relative(root, o.out) || o.out}`);
  process.exit(redRuns > 0 ? 1 : 0);
}

await main();
