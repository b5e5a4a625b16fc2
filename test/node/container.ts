// One container of a pod: starts it through its runner, runs its probes, restarts
// it with back-off when the policy says so, stops it with SIGTERM then SIGKILL,
// and describes itself as a V1ContainerStatus.
import type * as k8s from "@kubernetes/client-node";
import { MissingSourceError } from "./env.ts";
import { Prober, type ProbeTarget } from "./probes.ts";
import type { LocalProcess } from "./processes.ts";
import { NoRunnerError, type ContainerContext, type RunnerRegistry } from "./runners.ts";

export type ContainerKind = "init" | "sidecar" | "main";

export interface ContainerEvent {
  at: number;
  namespace: string;
  pod: string;
  uid: string;
  container: string;
  event: "start" | "started" | "ready" | "unready" | "exit" | "probe-failed" | "kill" | "error";
  pid?: number;
  detail?: string;
}

/** What a container needs from its pod. */
export interface ContainerHost {
  pod(): k8s.V1Pod;
  runners: RunnerRegistry;
  context(spec: k8s.V1Container): Promise<ContainerContext>;
  record(container: string, event: ContainerEvent["event"], pid?: number, detail?: string): void;
  changed(): void;
  /** Grace for restarts after a failed liveness/startup probe. */
  graceMs(): number;
  maxBackoffMs: number;
}

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d+Z$/, "Z");

export class ContainerSupervisor {
  restartCount = 0;
  started = false;
  ready = false;
  proc: LocalProcess | undefined;
  private startedAt: Date | undefined;
  waiting: k8s.V1ContainerStateWaiting | undefined;
  private terminated: k8s.V1ContainerStateTerminated | undefined;
  private lastTerminated: k8s.V1ContainerStateTerminated | undefined;
  private probers: Prober[] = [];
  private stopping = false;
  private wake: (() => void) | undefined;
  private startedWaiters: Array<(ok: boolean) => void> = [];
  /** The run in progress: a stop that lands while its runner is still starting the process must wait for it too. */
  private inflight: Promise<number | undefined> | undefined;

  constructor(private readonly host: ContainerHost, readonly spec: k8s.V1Container, readonly kind: ContainerKind, waitingReason: string) {
    this.waiting = { reason: waitingReason };
  }

  get name(): string {
    return this.spec.name;
  }

  /** Runs the container until the policy stops restarting it; returns the last exit code. */
  async supervise(restart: (exitCode: number) => boolean): Promise<number | undefined> {
    let failures = 0;
    let ran = false;
    while (!this.stopping) {
      if (ran) this.restartCount++;
      const began = Date.now();
      this.inflight = this.runOnce();
      const code = await this.inflight;
      ran = code !== undefined;
      if (this.stopping) return code;
      if (code !== undefined && !restart(code)) return code;
      if (Date.now() - began > 10_000) failures = 0;
      const delay = Math.min(this.host.maxBackoffMs, 250 * 2 ** failures++);
      if (code !== undefined) {
        this.lastTerminated = this.terminated;
        this.terminated = undefined;
        this.waiting = { reason: "CrashLoopBackOff", message: `back-off ${delay} ms restarting failed container ${this.name}` };
        this.host.changed();
      }
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wake = () => (clearTimeout(t), r());
      });
    }
    return undefined;
  }

  /** Resolves true once the container has started (startup probe passed), false if it is stopped first. */
  whenStarted(): Promise<boolean> {
    if (this.started) return Promise.resolve(true);
    if (this.stopping) return Promise.resolve(false);
    return new Promise((r) => this.startedWaiters.push(r));
  }

  /** One run: undefined when it could not start (config error, no runner). */
  private async runOnce(): Promise<number | undefined> {
    let ctx: ContainerContext;
    let proc: LocalProcess;
    try {
      ctx = await this.host.context(this.spec);
      if (this.stopping) return undefined;
      proc = await this.host.runners.find(this.spec, this.host.pod()).start(ctx);
    } catch (e) {
      const reason = e instanceof MissingSourceError ? "CreateContainerConfigError" : e instanceof NoRunnerError ? "NoRunner" : "RunContainerError";
      this.waiting = { reason, message: (e as Error).message };
      this.host.record(this.name, "error", undefined, `${reason}: ${(e as Error).message}`);
      this.host.changed();
      return undefined;
    }
    this.proc = proc;
    this.startedAt = new Date();
    this.waiting = undefined;
    this.terminated = undefined;
    this.host.record(this.name, "start", proc.pid);
    if (this.stopping) proc.kill("SIGKILL");
    else this.startProbes({ podIP: ctx.podIP, container: this.spec, env: ctx.env, root: ctx.root, logFile: ctx.logFile });
    this.host.changed();
    const code = await proc.exited;
    this.stopProbes();
    this.started = false;
    this.ready = false;
    this.proc = undefined;
    this.terminated = { exitCode: code, reason: code === 0 ? "Completed" : "Error", startedAt: rfc3339(this.startedAt) as unknown as Date, finishedAt: rfc3339(new Date()) as unknown as Date, containerID: `testnode://${proc.pid}` };
    this.host.record(this.name, "exit", proc.pid, `exit ${code}`);
    this.host.changed();
    return code;
  }

  private startProbes(t: ProbeTarget): void {
    const s = this.spec;
    const afterStart = () => {
      this.started = true;
      this.host.record(this.name, "started", this.proc?.pid);
      for (const w of this.startedWaiters.splice(0)) w(true);
      if (s.livenessProbe) this.addProber(new Prober("liveness", s.livenessProbe, t, (ok, d) => !ok && this.probeFailed("liveness", d)), false);
      if (s.readinessProbe) this.addProber(new Prober("readiness", s.readinessProbe, t, (ok) => this.setReady(ok)), true);
      else if (this.kind !== "init") this.setReady(true);
      this.host.changed();
    };
    if (this.kind === "init" || !s.startupProbe) return afterStart();
    this.addProber(new Prober("startup", s.startupProbe, t, (ok, d) => {
      if (!ok) return this.probeFailed("startup", d);
      this.probers.find((p) => p.kind === "startup")?.stop();
      afterStart();
    }), false);
  }

  private addProber(p: Prober, immediately: boolean): void {
    this.probers.push(p);
    p.start(immediately);
  }

  private setReady(ok: boolean): void {
    if (this.ready === ok) return;
    this.ready = ok;
    this.host.record(this.name, ok ? "ready" : "unready", this.proc?.pid);
    this.host.changed();
  }

  private probeFailed(kind: string, detail: string): void {
    this.host.record(this.name, "probe-failed", this.proc?.pid, `${kind}: ${detail}`);
    const proc = this.proc;
    if (!proc) return;
    this.stopProbes();
    void this.kill(proc, this.host.graceMs());
  }

  private stopProbes(): void {
    for (const p of this.probers.splice(0)) p.stop();
  }

  private async kill(proc: LocalProcess, graceMs: number): Promise<void> {
    this.host.record(this.name, "kill", proc.pid, `SIGTERM, SIGKILL after ${graceMs} ms`);
    proc.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const killed = new Promise<void>((r) => (timer = setTimeout(() => (proc.kill("SIGKILL"), r()), graceMs)));
    await Promise.race([proc.exited, killed]);
    clearTimeout(timer);
    await proc.exited;
  }

  /** Stops the container for good: no more restarts; SIGTERM, then SIGKILL after graceMs. */
  async stop(graceMs: number): Promise<void> {
    this.stopping = true;
    this.stopProbes();
    this.wake?.();
    for (const w of this.startedWaiters.splice(0)) w(false);
    if (this.proc) await this.kill(this.proc, graceMs);
    // A process whose start was under way when stopping began is SIGKILLed by runOnce itself; wait for that exit.
    await this.inflight;
  }

  status(): k8s.V1ContainerStatus {
    const state: k8s.V1ContainerState = this.proc
      ? { running: { startedAt: rfc3339(this.startedAt!) as unknown as Date } }
      : this.terminated
        ? { terminated: this.terminated }
        : { waiting: this.waiting ?? { reason: "ContainerCreating" } };
    return {
      name: this.name,
      image: this.spec.image ?? "",
      imageID: `testnode://${this.spec.image ?? ""}`,
      ...(this.proc ? { containerID: `testnode://${this.proc.pid}` } : this.terminated?.containerID ? { containerID: this.terminated.containerID } : {}),
      ready: this.ready,
      started: this.started,
      restartCount: this.restartCount,
      state,
      lastState: this.lastTerminated ? { terminated: this.lastTerminated } : {},
    };
  }
}
