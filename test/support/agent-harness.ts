// Shared helpers for the agent tests (not a test file): builds the shipped binary,
// spawns agents on Bun (compiled) or Deno, tails their JSON logs, and guarantees every
// spawned process is killed even when a test fails.
import { spawn, type Subprocess } from "bun";
import * as fs from "node:fs";
import { createHash } from "node:crypto";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { IntentServer, type FixtureCa } from "../fixtures/intent-server.ts";
import { TestCA, issueCertificate } from "./test-ca.ts";
import { freePort } from "./ports.ts";

export const REPO = resolve(import.meta.dir, "../..");
// Built outside the repo (the shared working tree's .tmp/ may be cleaned by others'
// runs) at one stable path per checkout that each run overwrites, so nothing
// accumulates and a run in another worktree never swaps in its own agent under ours.
/** Where the agent binary of the checkout at `repo` is built (the flake finder removes its clones' ones). */
export function agentBinDir(repo: string): string {
  return join(os.tmpdir(), `es-mtls-agent-bin-${process.getuid!()}-${createHash("sha256").update(repo).digest("hex").slice(0, 12)}`);
}
const BIN_DIR = agentBinDir(REPO);
export const BIN = join(BIN_DIR, "es-mtls-agent");
/** The real Deno binary behind `npx deno` (the npm shim would add a Node parent process that kill -9 would miss). */
export const DENO = join(REPO, "node_modules", "@deno", "linux-x64-glibc", "deno");
export const BUN = process.execPath;

export type AgentRuntime = "bun-binary" | "deno";
export const RUNTIMES: AgentRuntime[] = ["bun-binary", "deno"];

let built: Promise<void> | undefined;
/** `bun build --compile agent/main.ts` once per test process. */
export function buildBinary(): Promise<void> {
  built ??= (async () => {
    fs.mkdirSync(BIN_DIR, { recursive: true });
    // Build beside, then rename: a concurrent run's agents keep executing their inode.
    const out = `${BIN}.${process.pid}`;
    const p = spawn([BUN, "build", "--compile", "--minify", join(REPO, "agent/main.ts"), "--outfile", out], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    const code = await p.exited;
    if (code !== 0) throw new Error(`bun build --compile failed: ${await new Response(p.stderr).text()}`);
    fs.renameSync(out, BIN);
  })();
  return built;
}

const live = new Set<Subprocess>();
const scratch: string[] = [];
/** Kills every agent spawned so far and removes the scratch dirs; each test file calls it in afterAll. */
export function killAll(): void {
  for (const p of live) {
    try {
      p.kill(9);
    } catch {}
  }
  live.clear();
  for (const d of scratch.splice(0)) fs.rmSync(d, { recursive: true, force: true });
}
process.on("exit", killAll);

/**
 * A scratch dir, removed by killAll. `memory`: on tmpfs (/dev/shm) where there is one, as a kubelet
 * backs a pod's projected volumes and `emptyDir: {medium: Memory}` (every volume es-mtls injects):
 * an agent's fsyncs there cost what they cost in a pod, not a disk's journal commit.
 */
export function tmpDir(prefix: string, opts: { memory?: boolean } = {}): string {
  const base = opts.memory && fs.existsSync("/dev/shm") ? "/dev/shm" : os.tmpdir();
  const d = fs.mkdtempSync(join(base, `es-mtls-${prefix}-`));
  scratch.push(d);
  return d;
}

export interface LogLine {
  ts: string;
  level: string;
  msg: string;
  [k: string]: unknown;
}

export class AgentProcess {
  readonly logs: LogLine[] = [];
  readonly raw: string[] = [];
  healthPort = 0;
  private waiters: Array<() => void> = [];
  exited: Promise<number>;

  constructor(readonly proc: Subprocess<"ignore", "pipe", "pipe">, readonly runtime: AgentRuntime) {
    live.add(proc);
    this.exited = proc.exited.then((c) => {
      live.delete(proc);
      this.notify();
      return c;
    });
    void this.pump(proc.stdout);
    void this.pump(proc.stderr);
  }

  private async pump(s: ReadableStream<Uint8Array>): Promise<void> {
    const dec = new TextDecoder();
    let buf = "";
    for await (const chunk of s) {
      buf += dec.decode(chunk, { stream: true });
      let nl: number;
      while ((nl = buf.indexOf("\n")) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.raw.push(line);
        try {
          const j = JSON.parse(line) as LogLine;
          this.logs.push(j);
          if (j.msg === "health server listening") this.healthPort = j.port as number;
        } catch {}
        this.notify();
      }
    }
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  async waitLog(pred: (l: LogLine) => boolean, timeoutMs = 10_000, from = 0): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const hit = this.logs.slice(from).find(pred);
      if (hit) return hit;
      if (this.proc.exitCode !== null) throw new Error(`agent exited (${this.proc.exitCode}) while waiting; logs:\n${this.raw.slice(-30).join("\n")}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a log line; last logs:\n${this.raw.slice(-30).join("\n")}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  async health(path: string): Promise<{ status: number; text: string }> {
    const r = await fetch(`http://127.0.0.1:${this.healthPort}${path}`);
    return { status: r.status, text: await r.text() };
  }

  kill(sig: number | NodeJS.Signals = 9): void {
    try {
      this.proc.kill(sig);
    } catch {}
  }
}

/** The agent's command line on `runtime`: the compiled binary, or `deno run` of the source. */
export function agentCommand(runtime: AgentRuntime, args: string[]): string[] {
  return runtime === "bun-binary" ? [BIN, ...args] : [DENO, "run", "-A", "--quiet", join(REPO, "agent/main.ts"), ...args];
}

/** The environment agents run with: PATH and HOME only, besides `env`. */
export function agentEnv(env: Record<string, string> = {}): Record<string, string> {
  return { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", DENO_NO_UPDATE_CHECK: "1", ...env };
}

export function spawnAgent(runtime: AgentRuntime, args: string[], env: Record<string, string> = {}): AgentProcess {
  const proc = spawn(agentCommand(runtime, args), { cwd: REPO, stdin: "ignore", stdout: "pipe", stderr: "pipe", env: agentEnv(env) });
  return new AgentProcess(proc, runtime);
}

export interface Env {
  server: IntentServer;
  dir: string; // scratch dir: token, CA files
  outDir: string; // the agent's output directory
  token: { value: string };
  controllerCaFile: string;
  tokenFile: string;
}

export async function intentEnv(opts: { heartbeatMs?: number; servingCa?: FixtureCa; clientCa?: FixtureCa } = {}): Promise<Env> {
  const dir = tmpDir("env");
  const token = { value: "token-" + Math.random().toString(36).slice(2) };
  const tokenFile = join(dir, "token");
  fs.writeFileSync(tokenFile, token.value);
  const server = await new IntentServer({ token: () => token.value, heartbeatMs: opts.heartbeatMs ?? 500, ...(opts.servingCa ? { servingCa: opts.servingCa } : {}), ...(opts.clientCa ? { clientCa: opts.clientCa } : {}) }).start();
  const controllerCaFile = join(dir, "controller-ca.crt");
  fs.writeFileSync(controllerCaFile, server.servingCa.pem);
  return { server, dir, outDir: join(dir, "out"), token, controllerCaFile, tokenFile };
}

/** An Elasticsearch stand-in's HTTP serving material in `env.dir` (http.crt, http.key, http-ca.crt) and a port for it. */
export async function esServing(env: Env): Promise<{ port: number; certFile: string; keyFile: string; caFile: string }> {
  const httpCa = await TestCA.create("es http ca");
  const leaf = await issueCertificate(httpCa, { cn: "es", server: true });
  const files = { certFile: join(env.dir, "http.crt"), keyFile: join(env.dir, "http.key"), caFile: join(env.dir, "http-ca.crt") };
  fs.writeFileSync(files.certFile, leaf.certPem);
  fs.writeFileSync(files.keyFile, leaf.keyPem!);
  fs.writeFileSync(files.caFile, httpCa.pem);
  return { port: freePort(), ...files };
}

export function agentArgs(env: Env, role: "elasticsearch" | "kibana", extra: string[] = []): string[] {
  return [
    `--controller-url=${env.server.url}`,
    `--controller-ca=${env.controllerCaFile}`,
    `--token-file=${env.tokenFile}`,
    `--role=${role}`,
    `--dir=${env.outDir}`,
    "--health-addr=127.0.0.1",
    "--health-port=0",
    "--heartbeat-timeout-ms=3000",
    "--backoff-min-ms=100",
    "--backoff-max-ms=1000",
    ...extra,
  ];
}

export const sleep = (ms: number) => Bun.sleep(ms);
