// One pod on the test node, from binding to removal: an address, volumes,
// init containers in order (classic ones to completion, native sidecars until
// started), the main containers, status publication, and on deletion the
// graceful stop (main containers first, then sidecars in reverse order) followed
// by the final delete with grace 0 that lets the workload controllers replace it.
import * as k8s from "@kubernetes/client-node";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { ContainerSupervisor, type ContainerEvent, type ContainerHost } from "./container.ts";
import { apiReader, containerArgv, containerEnv, type PodFacts } from "./env.ts";
import { ConditionClock, podStatus, type PodView } from "./pod-status.ts";
import { declaredPorts, type PodAddresses } from "./ports.ts";
import { contextSpawn, type ContainerContext, type RunnerRegistry } from "./runners.ts";
import { PodVolumes } from "./volumes.ts";

export interface WorkerOptions {
  core: k8s.CoreV1Api;
  nodeName: string;
  hostIP: string;
  nodeDir: string;
  addresses: PodAddresses;
  runners: RunnerRegistry;
  capacity: Record<string, string>;
  apiserver: URL;
  record(e: ContainerEvent): void;
  resyncMs: number;
  tokenRenewAfterMs: number | undefined;
  maxBackoffMs: number;
  log(line: string): void;
}

export class PodWorker implements ContainerHost {
  private current: k8s.V1Pod;
  podIP: string | undefined;
  readonly uid: string;
  readonly runners: RunnerRegistry;
  readonly maxBackoffMs: number;
  private readonly dir: string;
  private readonly volumes: PodVolumes;
  private readonly initC: ContainerSupervisor[];
  private readonly mainC: ContainerSupervisor[];
  private readonly clock = new ConditionClock();
  private readonly startTime = new Date();
  private phase: PodView["phase"] = "Pending";
  private sandboxReady = false;
  private initialized = false;
  private terminating = false;
  private gone = false;
  private resync: ReturnType<typeof setInterval> | undefined;
  private publishing: Promise<void> | undefined;
  private dirty = false;
  private lastSent = "";
  /** Resolves once the pod's processes are stopped and its folder removed. */
  done: Promise<void> | undefined;

  constructor(private readonly o: WorkerOptions, pod: k8s.V1Pod) {
    this.current = pod;
    this.uid = pod.metadata!.uid!;
    this.runners = o.runners;
    this.maxBackoffMs = o.maxBackoffMs;
    this.dir = join(o.nodeDir, "pods", this.uid);
    this.volumes = new PodVolumes({ core: o.core, podDir: this.dir, pvcRoot: join(o.nodeDir, "claims"), capacity: o.capacity, tokenRenewAfterMs: o.tokenRenewAfterMs });
    const hasInit = (pod.spec?.initContainers ?? []).length > 0;
    this.initC = (pod.spec?.initContainers ?? []).map((c) => new ContainerSupervisor(this, c, c.restartPolicy === "Always" ? "sidecar" : "init", "PodInitializing"));
    this.mainC = pod.spec!.containers.map((c) => new ContainerSupervisor(this, c, "main", hasInit ? "PodInitializing" : "ContainerCreating"));
  }

  get name(): string {
    return `${this.current.metadata!.namespace}/${this.current.metadata!.name}`;
  }

  pod(): k8s.V1Pod {
    return this.current;
  }

  containers(): ContainerSupervisor[] {
    return [...this.initC, ...this.mainC];
  }

  /** Host path of a path inside one of the pod's containers (through its mounts): for tests to look inside. */
  hostPath(container: string, path: string): string {
    const spec = [...(this.current.spec?.initContainers ?? []), ...this.current.spec!.containers].find((c) => c.name === container);
    if (!spec) throw new Error(`pod ${this.name} has no container ${container}`);
    return this.volumes.resolve(spec, this.current, join(this.dir, "rootfs", container), path);
  }

  /** What a container printed so far (all its runs); empty once the pod is removed. */
  logs(container: string): string {
    try {
      return readFileSync(join(this.dir, "logs", `${container}.log`), "utf8");
    } catch {
      return "";
    }
  }

  update(pod: k8s.V1Pod): void {
    const meta = (p: k8s.V1Pod) => JSON.stringify([p.metadata?.labels, p.metadata?.annotations]);
    const relabelled = meta(pod) !== meta(this.current);
    this.current = pod;
    if (pod.metadata?.deletionTimestamp) this.done ??= this.terminate(true);
    else if (this.sandboxReady && relabelled) void this.syncVolumes(); // downward API files follow at once
  }

  /** The pod object is gone (force-deleted): stop everything now, publish nothing. */
  forget(): Promise<void> {
    this.gone = true;
    return (this.done ??= this.terminate(false));
  }

  async run(): Promise<void> {
    try {
      mkdirSync(join(this.dir, "logs"), { recursive: true });
      const ip = await this.o.addresses.allocate(declaredPorts(this.current));
      if (this.gone) return this.o.addresses.release(ip);
      this.podIP = ip;
      this.changed();
      while (!this.terminating) {
        try {
          await this.volumes.sync(this.facts());
          break;
        } catch (e) {
          for (const c of this.containers()) c.waiting = { reason: "ContainerCreating", message: `volumes: ${(e as Error).message}` };
          this.changed();
          await Bun.sleep(1000);
        }
      }
      if (this.terminating) return;
      this.sandboxReady = true;
      this.resync = setInterval(() => void this.syncVolumes(), this.o.resyncMs);
      this.changed();
      const policy = this.current.spec?.restartPolicy ?? "Always";
      for (const c of this.initC) {
        if (c.kind === "sidecar") {
          void c.supervise(() => true);
          if (!(await c.whenStarted())) return;
          continue;
        }
        const code = await c.supervise((exit) => exit !== 0 && policy !== "Never");
        if (this.terminating) return;
        if (code !== 0) return this.finish("Failed");
      }
      this.initialized = true;
      this.phase = "Running";
      for (const c of this.mainC) c.waiting = { reason: "ContainerCreating" };
      this.changed();
      const codes = await Promise.all(this.mainC.map((c) => c.supervise((exit) => policy === "Always" || (policy === "OnFailure" && exit !== 0))));
      if (!this.terminating) await this.finish(codes.every((x) => x === 0) ? "Succeeded" : "Failed");
    } catch (e) {
      this.o.log(`pod ${this.name}: ${(e as Error).stack ?? e}`);
    }
  }

  private async finish(phase: "Succeeded" | "Failed"): Promise<void> {
    for (const c of [...this.initC].reverse()) await c.stop(this.graceMs());
    this.phase = phase;
    this.changed();
  }

  private async syncVolumes(): Promise<void> {
    try {
      await this.volumes.sync(this.facts());
    } catch (e) {
      this.o.log(`pod ${this.name}: volume resync: ${(e as Error).message}`);
    }
  }

  private async terminate(deleteAfter: boolean): Promise<void> {
    this.terminating = true;
    clearInterval(this.resync);
    this.changed();
    const graceMs = this.gone ? 0 : this.graceMs(true);
    const deadline = Date.now() + graceMs;
    const left = () => Math.max(0, deadline - Date.now());
    await Promise.all(this.mainC.map((c) => c.stop(left())));
    for (const c of [...this.initC].reverse()) await c.stop(left());
    if (this.phase !== "Succeeded" && this.phase !== "Failed") {
      const codes = this.mainC.map((c) => c.status().state?.terminated?.exitCode ?? 137);
      this.phase = this.initialized && codes.every((x) => x === 0) ? "Succeeded" : "Failed";
    }
    if (deleteAfter && !this.gone) {
      this.changed();
      await this.publishing;
      const m = this.current.metadata!;
      try {
        await this.o.core.deleteNamespacedPod({ name: m.name!, namespace: m.namespace!, gracePeriodSeconds: 0, body: { gracePeriodSeconds: 0, preconditions: { uid: this.uid } } });
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code !== 404 && code !== 409) this.o.log(`pod ${this.name}: final delete: ${(e as Error).message}`);
      }
    }
    this.gone = true;
    if (this.podIP) this.o.addresses.release(this.podIP);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Grace for a stop: the deletion's own grace when deleting, else the pod's terminationGracePeriodSeconds. */
  graceMs(deleting = false): number {
    const m = this.current.metadata;
    const s = deleting ? (m?.deletionGracePeriodSeconds ?? this.current.spec?.terminationGracePeriodSeconds) : this.current.spec?.terminationGracePeriodSeconds;
    return (s ?? 30) * 1000;
  }

  private facts(): PodFacts {
    return { pod: this.current, podIP: this.podIP ?? "", hostIP: this.o.hostIP, nodeName: this.o.nodeName };
  }

  async context(spec: k8s.V1Container): Promise<ContainerContext> {
    const env = await containerEnv(apiReader(this.o.core), this.facts(), spec, this.o.capacity, this.o.apiserver);
    const root = join(this.dir, "rootfs", spec.name);
    this.volumes.mount(spec, this.current, root);
    const base: Omit<ContainerContext, "spawn"> = {
      pod: this.current,
      container: spec,
      podIP: this.podIP!,
      nodeName: this.o.nodeName,
      root,
      path: (p) => this.volumes.resolve(spec, this.current, root, p),
      env,
      argv: containerArgv(spec, env),
      logFile: join(this.dir, "logs", `${spec.name}.log`),
    };
    return { ...base, spawn: contextSpawn(base) };
  }

  record(container: string, event: ContainerEvent["event"], pid?: number, detail?: string): void {
    const m = this.current.metadata!;
    this.o.record({ at: Date.now(), namespace: m.namespace!, pod: m.name!, uid: this.uid, container, event, ...(pid !== undefined ? { pid } : {}), ...(detail ? { detail } : {}) });
  }

  /** Something in the status may have changed: publish it (coalesced, one request at a time). */
  changed(): void {
    if (this.gone) return;
    this.dirty = true;
    this.publishing ??= this.publish().finally(() => (this.publishing = undefined));
  }

  private async publish(): Promise<void> {
    while (this.dirty && !this.gone) {
      this.dirty = false;
      const status = podStatus(this.view(), this.clock);
      const text = JSON.stringify(status);
      if (text === this.lastSent) continue;
      const m = this.current.metadata!;
      try {
        await this.o.core.patchNamespacedPodStatus(
          { name: m.name!, namespace: m.namespace!, body: { metadata: { uid: this.uid }, status } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        );
        this.lastSent = text;
      } catch (e) {
        const code = (e as { code?: number }).code;
        if (code === 404 || code === 409) return; // replaced or gone: this worker no longer speaks for the name
        this.o.log(`pod ${this.name}: status: ${(e as Error).message} ${(e as { body?: string }).body ?? ""}`);
        if (code === 422) return;
        await Bun.sleep(500);
        this.dirty = true;
      }
    }
  }

  private view(): PodView {
    return {
      pod: this.current,
      podIP: this.podIP,
      hostIP: this.o.hostIP,
      startTime: this.startTime,
      phase: this.phase,
      sandboxReady: this.sandboxReady,
      initialized: this.initialized,
      terminating: this.terminating,
      init: this.initC,
      main: this.mainC,
    };
  }
}
