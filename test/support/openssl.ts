// The openssl command line as a second, independent reader of what our encoders make.
import { spawnSync } from "bun";

/** Runs `openssl …args` with `input` on stdin; its exit code and both outputs as text. */
export function openssl(args: string[], input: string): { code: number; out: string } {
  const p = spawnSync(["openssl", ...args], { stdin: new TextEncoder().encode(input), stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode ?? -1, out: p.stdout.toString() + p.stderr.toString() };
}
