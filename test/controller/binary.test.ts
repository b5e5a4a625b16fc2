// The controller as its image ships it: a `bun build --compile` binary (what
// deploy/images/controller.Dockerfile builds). It must build, and refuse bad
// configuration with a clear, structured message instead of a stack trace.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const out = mkdtempSync(join(tmpdir(), "es-mtls-controller-bin-"));
afterAll(() => rmSync(out, { recursive: true, force: true }));

test("the controller compiles to one binary that names a bad flag and exits 2", async () => {
  const bin = join(out, "es-mtls-controller");
  const build = Bun.spawnSync([process.execPath, "build", "--compile", "--minify", join(import.meta.dir, "..", "..", "controller", "main.ts"), "--outfile", bin]);
  expect(build.exitCode).toBe(0);
  expect(statSync(bin).size).toBeGreaterThan(10_000_000);
  for (const [args, detail] of [
    [["--bogus=1"], "unknown flag --bogus"],
    [["--cert-validity=1y"], '--cert-validity: "1y" is not a duration'],
    [["--cert-validity=1h", "--cert-rotate-before=2h"], "--cert-rotate-before must be shorter than --cert-validity"],
  ] as const) {
    const run = Bun.spawnSync([bin, ...args], { env: { PATH: process.env.PATH ?? "" } });
    expect(run.exitCode).toBe(2);
    const line = JSON.parse(run.stderr.toString().trim().split("\n").at(-1)!);
    expect(line).toMatchObject({ level: "error", msg: "invalid configuration" });
    expect(line.detail).toContain(detail);
  }
});
