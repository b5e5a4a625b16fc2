// Local processes that stand for containers of the test node. Every process is
// tracked, so a test can assert that none is left, and all are killed when the
// test process exits, whatever the reason. Processes stay in the test runner's
// process group (not detached), so `test/run.sh` reaps them even after a crash.
import { spawn } from "node:child_process";
import { closeSync, openSync } from "node:fs";
import { constants } from "node:os";

/** A running container process, as a runner hands it to the node. */
export interface LocalProcess {
  readonly pid: number;
  /** Resolves with the exit code (128 + signal number when killed by a signal). */
  readonly exited: Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

const live = new Map<number, LocalProcess>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", killAllProcesses);
}

/** Registers a process started elsewhere (e.g. by `spawnAgent`) so it is tracked and killed on exit. */
export function track(p: LocalProcess): LocalProcess {
  hookExit();
  live.set(p.pid, p);
  void p.exited.then(() => live.delete(p.pid));
  return p;
}

/** PIDs of the container processes still running. */
export function livePids(): number[] {
  return [...live.keys()];
}

/** True when a process with that PID exists (a zombie counts as gone: it was reaped by us). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function killAllProcesses(): void {
  for (const p of live.values()) p.kill("SIGKILL");
}

export interface SpawnOptions {
  env: Record<string, string>;
  cwd: string;
  /** Appended stdout and stderr. */
  logFile: string;
}

/** Spawns argv as a tracked local process. */
export function spawnProcess(argv: string[], o: SpawnOptions): LocalProcess {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("empty command");
  const out = openSync(o.logFile, "a");
  const child = spawn(cmd, args, { cwd: o.cwd, env: o.env, stdio: ["ignore", out, out] });
  closeSync(out);
  const exited = new Promise<number>((resolve) => {
    child.once("exit", (code, signal) => resolve(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 0)));
    // A command that does not exist fails here, not at spawn.
    child.once("error", () => resolve(127));
  });
  if (child.pid === undefined) {
    return { pid: -1, exited, kill: () => {} };
  }
  const pid = child.pid;
  return track({
    pid,
    exited,
    kill(signal) {
      if (child.exitCode === null && child.signalCode === null) {
        try {
          child.kill(signal);
        } catch {}
      }
    },
  });
}

/** The host variables a local process needs to run at all (the image would provide them). */
export function hostBaseEnv(): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp" };
}
