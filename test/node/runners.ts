// What the test node knows how to run. A runner matches containers (by name,
// image, anything in the spec) and starts one as a local process from a
// context that says where the container's filesystem is and what its
// environment is. Tests register runners; the first match wins, so a runner
// added later can override a default one.
import type * as k8s from "@kubernetes/client-node";
import { mkdirSync } from "node:fs";
import { hostBaseEnv, spawnProcess, type LocalProcess } from "./processes.ts";

export interface ContainerContext {
  readonly pod: k8s.V1Pod;
  readonly container: k8s.V1Container;
  /** The pod's own loopback address: containers listen on `podIP:containerPort`. */
  readonly podIP: string;
  readonly nodeName: string;
  /** The container's root folder: container path `/a/b` is `root + "/a/b"` (mounts are symlinks in it). */
  readonly root: string;
  /** Host path of a container path, through the container's mounts. */
  path(containerPath: string): string;
  /** The container's environment as the image would see it (spec env, envFrom, downward API). */
  readonly env: Record<string, string>;
  /** command/args of the spec with $(VAR) expanded; empty when the spec relies on the image. */
  readonly argv: string[];
  readonly logFile: string;
  /** Spawns a tracked process (host PATH/HOME, the container env, `extraEnv`; cwd = workingDir or root; output to logFile). */
  spawn(argv: string[], extraEnv?: Record<string, string>): LocalProcess;
}

export interface ContainerRunner {
  name: string;
  match(container: k8s.V1Container, pod: k8s.V1Pod): boolean;
  start(ctx: ContainerContext): LocalProcess | Promise<LocalProcess>;
}

/** Runs the spec's own command and args as a local command (for `image: local/command`). */
export const commandRunner: ContainerRunner = {
  name: "command",
  match: (c) => c.image === "local/command",
  start: (ctx) => ctx.spawn(ctx.argv),
};

/**
 * Containers nobody knows how to run get a process that only sleeps: the pod still
 * runs, is probed, and is stopped with signals like any other, so a pod with an
 * unmodelled container (a metrics exporter, say) behaves as in a cluster. A test that
 * wants a clear failure instead registers `failingRunner` last.
 */
export const sleepRunner: ContainerRunner = {
  name: "sleep",
  match: () => true,
  start: (ctx) => ctx.spawn(["sleep", "infinity"]),
};

export class NoRunnerError extends Error {}

/** Fails such containers with the reason `NoRunner` in their waiting state. */
export const failingRunner: ContainerRunner = {
  name: "fail",
  match: () => true,
  start: (ctx) => {
    throw new NoRunnerError(`the test node has no runner for container ${ctx.container.name} (image ${ctx.container.image})`);
  },
};

export class RunnerRegistry {
  private readonly runners: ContainerRunner[] = [];

  constructor(runners: ContainerRunner[] = [], private readonly fallback: ContainerRunner = sleepRunner) {
    this.runners.push(...runners);
  }

  /** Adds runners in front: they take precedence over those added before. */
  add(...runners: ContainerRunner[]): this {
    this.runners.unshift(...runners);
    return this;
  }

  remove(name: string): void {
    const i = this.runners.findIndex((r) => r.name === name);
    if (i >= 0) this.runners.splice(i, 1);
  }

  find(container: k8s.V1Container, pod: k8s.V1Pod): ContainerRunner {
    return this.runners.find((r) => r.match(container, pod)) ?? this.fallback;
  }
}

/** Builds the env a spawned process gets: host basics, then the container's, then extras. */
export function processEnv(containerEnv: Record<string, string>, extra: Record<string, string> = {}): Record<string, string> {
  return { ...hostBaseEnv(), ...containerEnv, ...extra };
}

export function contextSpawn(ctx: Omit<ContainerContext, "spawn">): ContainerContext["spawn"] {
  const dir = ctx.container.workingDir ? ctx.path(ctx.container.workingDir) : ctx.root;
  return (argv, extraEnv) => {
    mkdirSync(dir, { recursive: true });
    return spawnProcess(argv, { env: processEnv(ctx.env, extraEnv), cwd: dir, logFile: ctx.logFile });
  };
}
