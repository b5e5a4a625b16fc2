// The podman command line, as the image builder and the image test use it. Images live in podman's
// own store (root's /var/lib/containers), so `podman images` shows what the builder made.
import { spawnSync } from "node:child_process";

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, its output captured. */
export function run(command: string, args: string[]): Run {
  const r = spawnSync(command, args, { encoding: "utf8", maxBuffer: 64 << 20 });
  // A missing command (ENOENT) is status null: reported like a failed one.
  return { status: r.status ?? 127, stdout: r.stdout ?? "", stderr: r.stderr ?? String(r.error ?? "") };
}

/** Runs a command and throws with its stderr when it fails. */
export function must(command: string, args: string[]): string {
  const r = run(command, args);
  if (r.status !== 0) throw new Error(`${command} ${args.join(" ")} exited ${r.status}: ${r.stderr.trim().split("\n").slice(-5).join("\n")}`);
  return r.stdout;
}

/** Why images cannot be built here, or undefined when they can (podman installed, running as root). */
export function podmanUnavailable(): string | undefined {
  if (run("podman", ["--version"]).status !== 0) return "podman is not installed (.ci/run installs it: apt-get install podman)";
  // podman image mount and debootstrap need root; rootless would need `podman unshare` around both.
  if (process.getuid?.() !== 0) return "not running as root (podman image mount and debootstrap need it)";
  return undefined;
}

export function imageExists(ref: string): boolean {
  return run("podman", ["image", "exists", ref]).status === 0;
}

/** The image's ID, which changes with any of its content or configuration. */
export function imageId(ref: string): string {
  return must("podman", ["image", "inspect", "--format", "{{.Id}}", ref]).trim();
}
