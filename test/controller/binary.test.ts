// The controller as its image ships it: a `bun build --compile` binary (what
// deploy/images/controller.Dockerfile builds). It must build, refuse bad configuration with a
// clear, structured message instead of a stack trace, and answer --help and --version without
// a package.json beside it.
import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CONTROLLER_FLAGS } from "../../controller/config.ts";

const ROOT = join(import.meta.dir, "..", "..");
const out = mkdtempSync(join(tmpdir(), "es-mtls-controller-bin-"));
const bin = join(out, "es-mtls-controller");
afterAll(() => rmSync(out, { recursive: true, force: true }));

let build: ReturnType<typeof Bun.spawnSync>;
beforeAll(() => {
  build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", join(ROOT, "controller", "main.ts"), "--outfile", bin]);
});

const run = (args: string[]) => Bun.spawnSync([bin, ...args], { cwd: out, env: { PATH: process.env.PATH ?? "" } });

test("the controller compiles to one binary that names a bad flag and exits 2, the usage line on stderr", () => {
  expect(build.exitCode).toBe(0);
  expect(statSync(bin).size).toBeGreaterThan(10_000_000);
  for (const [args, detail] of [
    [["--bogus=1"], "unknown flag --bogus"],
    [["--cert-validity=1y"], '--cert-validity: "1y" is not a duration'],
    [["--cert-validity=1h", "--cert-rotate-before=2h"], "--cert-rotate-before must be shorter than --cert-validity"],
  ] as const) {
    const r = run([...args]);
    expect(r.exitCode).toBe(2);
    const stderr = r.stderr.toString().trim().split("\n");
    const line = JSON.parse(stderr.at(-1)!);
    expect(line).toMatchObject({ level: "error", msg: "invalid configuration" });
    expect(line.detail).toContain(detail);
    expect(stderr).toContain("usage: es-mtls-controller [--flag=value]...  (--help lists every flag)");
    expect(r.stdout.toString()).toBe("");
  }
});

test("--help prints every flag with its default and variable on stdout and exits 0; --version prints package.json's version", () => {
  expect(build.exitCode).toBe(0);
  for (const help of ["--help", "-h"]) {
    const r = run([help]);
    expect(r.exitCode).toBe(0);
    expect(r.stderr.toString()).toBe("");
    const lines = r.stdout.toString().split("\n");
    for (const f of CONTROLLER_FLAGS) {
      expect(lines).toContain(`  --${f.name}=<value>  (default: ${f.shown ?? f.default}; env ${f.env})`);
    }
    expect(lines).toContain("  --version");
  }
  // Run from an empty directory: the version is in the binary, not read from a package.json.
  const version = run(["--version"]);
  expect(version.exitCode).toBe(0);
  expect(version.stdout.toString()).toBe(`es-mtls-controller ${JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).version}\n`);
  // A bad flag beside --help is still a bad command line.
  expect(run(["--help", "--bogus"]).exitCode).toBe(2);
});
