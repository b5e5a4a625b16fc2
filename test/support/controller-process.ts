// Runs the real controller (bun controller/main.ts) as its own process against a
// test control plane, and stops it (SIGTERM, or SIGKILL for failover tests).
import { spawn, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { freePorts } from "./ports.ts";
import { eventually } from "./eventually.ts";
import { collectLines } from "./child-lines.ts";

const ROOT = join(import.meta.dir, "..", "..");
const running = new Set<ChildProcess>();
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

export class ControllerProcess {
  readonly logs: string[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly name: string,
    readonly intentPort: number,
    readonly healthPort: number,
    readonly webhookPort: number,
  ) {}

  /**
   * `samePortsAs`: restart in place of a stopped replica (agents keep its URL, as a Service would).
   * `env`: added to this process's environment for the controller (e.g. the chart's BUN_JSC_* heap options).
   */
  static async start(o: { kubeconfig: string; name: string; namespace: string; extraArgs?: string[]; samePortsAs?: ControllerProcess; env?: Record<string, string> }): Promise<ControllerProcess> {
    const [intentPort, healthPort, webhookPort] = o.samePortsAs
      ? [o.samePortsAs.intentPort, o.samePortsAs.healthPort, o.samePortsAs.webhookPort]
      : ((await freePorts(3)) as [number, number, number]);
    const child = spawn(
      process.execPath,
      [
        join(ROOT, "controller", "main.ts"),
        `--kubeconfig=${o.kubeconfig}`,
        `--namespace=${o.namespace}`,
        `--pod-name=${o.name}`,
        `--operator-namespace=elastic-system`,
        `--intent-api-port=${intentPort}`,
        `--intent-api-address=127.0.0.1`,
        `--health-port=${healthPort}`,
        `--webhook-port=${webhookPort}`,
        "--lease-duration=6s",
        "--lease-retry=1s",
        ...(o.extraArgs ?? []),
      ],
      { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, ...o.env } },
    );
    running.add(child);
    const cp = new ControllerProcess(child, o.name, intentPort, healthPort, webhookPort);
    collectLines(child, cp.logs, o.name);
    child.on("exit", () => running.delete(child));
    return cp;
  }

  get url(): string {
    return `https://127.0.0.1:${this.intentPort}`;
  }

  async health(path: string): Promise<Response> {
    return fetch(`http://127.0.0.1:${this.healthPort}${path}`);
  }

  async waitReady(timeoutMs = 30_000) {
    await eventually(
      async () => {
        if (this.child.exitCode !== null) throw new Error(`controller exited: ${this.logs.slice(-20).join("\n")}`);
        const r = await this.health("/readyz");
        if (r.status !== 200) throw new Error(`readyz ${r.status}: ${await r.text()}`);
      },
      { timeoutMs, what: `controller ${this.name} ready` },
    );
  }

  /** SIGSTOP: the process is frozen (timers, sockets) as a stalled node or a long GC pause would. */
  pause() {
    this.child.kill("SIGSTOP");
  }

  resume() {
    this.child.kill("SIGCONT");
  }

  /** The controller's structured log lines (JSON on stderr), parsed. */
  jsonLogs(): Array<Record<string, any>> {
    return this.logs.flatMap((line) => {
      try {
        const v = JSON.parse(line);
        return v && typeof v === "object" ? [v] : [];
      } catch {
        return [];
      }
    });
  }

  async stop(signal: NodeJS.Signals = "SIGTERM") {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.resume(); // a paused process would not see the signal
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.kill(signal);
    await Promise.race([exited, Bun.sleep(10_000)]);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill("SIGKILL");
  }
}
