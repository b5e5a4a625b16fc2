// Keeps a child process's stdout and stderr as whole lines (a chunk may end mid-line), for tests
// that read a controller's or an operator's log; ES_MTLS_TEST_VERBOSE echoes them, labelled.
import type { ChildProcess } from "node:child_process";

export function collectLines(child: ChildProcess, into: string[], label: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    let buf = "";
    stream?.on("data", (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split("\n");
      buf = lines.pop()!;
      into.push(...lines);
      if (process.env.ES_MTLS_TEST_VERBOSE) for (const l of lines) console.error(`[${label}] ${l}`);
    });
  }
}
