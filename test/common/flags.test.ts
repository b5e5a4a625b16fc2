// common/flags.ts: the command line read against a flag specification, the same on every runtime.
import { describe, expect, test } from "bun:test";
import { parseCommandLine, type Flag } from "../../common/flags.ts";

const FLAGS: Flag[] = [
  { name: "health-port", default: "8099", env: "ES_MTLS_HEALTH_PORT", description: "port" },
  { name: "dir", description: "output directory" },
  { name: "once", default: "false", description: "once", switch: true },
];

describe("parseCommandLine", () => {
  test("--name=value, --name value and a switch alone; the last of a repeated flag wins; nothing given, nothing set", () => {
    const line = parseCommandLine(FLAGS, ["--health-port=1", "--dir", "/out", "--once", "--health-port", "2"]);
    expect(line).toEqual({ ok: true, values: new Map([["health-port", "2"], ["dir", "/out"], ["once", "true"]]), help: false, version: false });
    expect(parseCommandLine(FLAGS, [])).toEqual({ ok: true, values: new Map(), help: false, version: false });
  });

  test("a switch takes =false, an empty value and a value that looks like a number stay values", () => {
    const line = parseCommandLine(FLAGS, ["--once=false", "--dir=", "--health-port", "-1"]);
    expect(line.ok && [...line.values]).toEqual([["once", "false"], ["dir", ""], ["health-port", "-1"]]);
  });

  test("--help, -h and --version are every binary's, apart from the specified flags", () => {
    expect(parseCommandLine(FLAGS, ["--help"])).toMatchObject({ ok: true, help: true, version: false });
    expect(parseCommandLine(FLAGS, ["-h", "--dir=/x"])).toMatchObject({ ok: true, help: true, values: new Map([["dir", "/x"]]) });
    expect(parseCommandLine(FLAGS, ["--version"])).toMatchObject({ ok: true, help: false, version: true });
  });

  test.each([
    [["--nope=1"], { problem: "unknown", arg: "--nope" }],
    [["-x"], { problem: "unknown", arg: "-x" }],
    [["--dir"], { problem: "needs-value", arg: "--dir" }],
    // The next flag is not a value: `--dir --once` forgot the directory.
    [["--dir", "--once"], { problem: "needs-value", arg: "--dir" }],
    [["positional"], { problem: "unexpected", arg: "positional" }],
    [["--", "--dir=/x"], { problem: "unexpected", arg: "--" }],
    [["--help=yes"], { problem: "unexpected", arg: "--help=yes" }],
  ])("refuses %j", (argv, problem) => {
    expect(parseCommandLine(FLAGS, argv)).toEqual({ ok: false, ...problem } as never);
  });
});
