// The agent's command-line manners as shipped (the compiled Bun binary and `deno run` of the
// source): --help lists every flag on stdout and exits 0, --version prints package.json's version
// (embedded: the binary runs without a package.json beside it), a bad flag exits 2 with the
// usage line on stderr.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_FLAGS } from "../../../agent/config.ts";
import { agentCommand, agentEnv, buildBinary, killAll, REPO, RUNTIMES, tmpDir, type AgentRuntime } from "../../support/agent-harness.ts";

const VERSION = JSON.parse(readFileSync(join(REPO, "package.json"), "utf8")).version as string;
const USAGE = "usage: es-mtls-agent [--flag=value]...  (--help lists every flag)";

beforeAll(() => buildBinary(), 120_000);
afterAll(killAll);

async function run(runtime: AgentRuntime, args: string[], cwd: string) {
  const p = Bun.spawn(agentCommand(runtime, args), { cwd, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: agentEnv() });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr, code };
}

describe.each(RUNTIMES)("agent on %s", (runtime) => {
  test("--help and -h: every flag with its default and variable on stdout, exit 0, nothing started", async () => {
    for (const help of ["--help", "-h"]) {
      const r = await run(runtime, [help], REPO);
      expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
      const lines = r.stdout.split("\n");
      expect(lines[0]).toBe(USAGE);
      for (const f of AGENT_FLAGS) {
        const names = `  --${f.name}${f.switch ? "" : "=<value>"}`;
        expect(lines).toContain(`${names}  (default: ${f.shown ?? f.default}; env ${f.env})`);
      }
      expect(lines).toContain("  --version");
      // No log line: the agent did not start (no "health server listening", no JSON at all).
      expect(lines.filter((l) => l.startsWith("{"))).toEqual([]);
    }
  });

  test("--version: package.json's version, from a directory without one", async () => {
    const r = await run(runtime, ["--version"], tmpDir("cli"));
    expect(r).toEqual({ code: 0, stdout: `es-mtls-agent ${VERSION}\n`, stderr: "" });
  });

  test("a bad flag: exit 2, the usage line on stderr, the reason in the JSON log", async () => {
    for (const [args, detail] of [
      [["--nope=1"], "unknown option --nope"],
      [["--health-port"], "option --health-port needs a value"],
      [["--role=elasticsearch"], "--controller-url (or ES_MTLS_CONTROLLER_URL) is required"],
    ] as const) {
      const r = await run(runtime, [...args], REPO);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split("\n")).toContain(USAGE);
      expect(JSON.parse(r.stdout.trim().split("\n").at(-1)!)).toMatchObject({ level: "error", msg: "invalid configuration", detail });
    }
  });
});
