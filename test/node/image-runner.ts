// Containers whose image is a locally built one (podman's store) run from that image's root
// filesystem, not from the checkout: `podman run` does not work here, but `podman image mount` does
// (as root). The image is mounted once while any of its containers runs and unmounted after the
// last one exits; each container gets a private mount namespace (`unshare --mount --propagation
// private`) holding a writable overlay of the image on a tmpfs, /proc (Bun's compiled binary reads
// /proc/self/exe and aborts without it), a minimal /dev, the pod's volumes bind-mounted at their
// container paths (readOnly ones read-only), /etc/hosts from the cluster-DNS stand-in and a
// resolv.conf with the pod's search path. Then the root becomes read-only where the securityContext
// says `readOnlyRootFilesystem`, and `unshare --root --wd --setuid --setgid` enters it as the user
// (runAsUser/runAsGroup, else the image's USER) and execs the entrypoint, so the PID the node tracks
// is the container's own process. Every mount lives and dies with that process: a stopped container
// leaves nothing mounted on the host but, while another container of the image runs, the image.
//
// Kubernetes' command/args over the image's ENTRYPOINT/CMD: command replaces the entrypoint (and
// drops CMD), args alone replace CMD. Not modelled: supplementary groups (fsGroup), capabilities of
// a root user (root keeps them), seccomp, network and PID namespaces (the pod shares the host's, as
// every container of the test node does).
import type * as k8s from "@kubernetes/client-node";
import { execFile, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync, rmSync, statSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { expand } from "./env.ts";
import { mountNamespaceAvailable } from "./probe-namespace.ts";
import { spawnProcess, type LocalProcess } from "./processes.ts";
import type { ContainerContext, ContainerRunner } from "./runners.ts";

const exec = promisify(execFile);
const DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
const DEVICES = ["null", "zero", "full", "random", "urandom", "tty"];
/** Where the DNS stand-in's folder appears in the container; /etc/hosts links into it, so its atomic rewrites show. */
const DNS_DIR = "/run/es-mtls-dns";

interface ImageConfig {
  Entrypoint?: string[] | null;
  Cmd?: string[] | null;
  User?: string;
  Env?: string[] | null;
  WorkingDir?: string;
}

/** What the runner needs besides the context: how to start the process, and what to add to its env. */
export interface ImageRunnerOptions {
  /** Local image references (`localhost/es-mtls/agent:<key>`): a container whose `image` names one runs from it. */
  images: string[];
  /** The cluster-DNS stand-in's hosts file (`ClusterDns.file`): /etc/hosts in the container. */
  hostsFile?: string;
  /** Variables added after the container's own (e.g. the agent's controller URL, which a pod cannot resolve here). */
  env?(ctx: ContainerContext): Record<string, string>;
  /** Starts the process (default: output to the container's log file); the agent fixture tails its JSON logs. */
  spawn?(argv: string[], env: Record<string, string>, ctx: ContainerContext): LocalProcess;
}

/** Why images cannot run here (not Linux, not root, no unshare or podman), or undefined when they can. */
export function imageRunnerUnavailable(): string | undefined {
  if (!mountNamespaceAvailable()) return "a private mount namespace needs Linux, root and unshare";
  return undefined;
}

// --- the image mounts, shared by the image's running containers ---

const mounted = new Map<string, { path: Promise<string>; users: number }>();

async function acquire(ref: string): Promise<string> {
  hookExit();
  let m = mounted.get(ref);
  if (!m) {
    m = { path: exec("podman", ["image", "mount", ref]).then((r) => r.stdout.trim()), users: 0 };
    mounted.set(ref, m);
  }
  m.users++;
  try {
    return await m.path;
  } catch (e) {
    release(ref);
    throw e;
  }
}

function release(ref: string): void {
  const m = mounted.get(ref);
  if (!m || --m.users > 0) return;
  mounted.delete(ref);
  // Synchronous: done before the node sees the container exit, so a test (or the test process)
  // that ends right after its pods stopped leaves podman's mount count as it found it. Only called
  // once the mount resolved (a container had started, or the mount failed).
  unmount(ref);
}

function unmount(ref: string): void {
  spawnSync("podman", ["image", "unmount", ref], { stdio: "ignore" });
}

let hooked = false;
/** Containers still running when the test process exits are SIGKILLed (processes.ts): their images are unmounted here. */
function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const ref of mounted.keys()) unmount(ref);
    mounted.clear();
  });
}

/** Images this process holds mounted right now (a test checks none is left). */
export function mountedImages(): string[] {
  return [...mounted.keys()];
}

const configs = new Map<string, Promise<ImageConfig>>();
function imageConfig(ref: string): Promise<ImageConfig> {
  let c = configs.get(ref);
  if (!c) {
    c = exec("podman", ["image", "inspect", "--format", "{{json .Config}}", ref]).then((r) => JSON.parse(r.stdout) as ImageConfig);
    configs.set(ref, c);
    c.catch(() => configs.delete(ref));
  }
  return c;
}

// --- what the container runs, and as whom ---

/** The process's argv as Kubernetes composes it from the spec and the image. */
function imageArgv(c: k8s.V1Container, config: ImageConfig, env: Record<string, string>): string[] {
  const x = (a: string[]) => a.map((s) => expand(s, env));
  if (c.command?.length) return x([...c.command, ...(c.args ?? [])]);
  return [...(config.Entrypoint ?? []), ...(c.args ? x(c.args) : (config.Cmd ?? []))];
}

/** uid and gid: the securityContext's (container, then pod), else the image's USER (a name looked up in its /etc/passwd). */
function imageUser(c: k8s.V1Container, pod: k8s.V1Pod, config: ImageConfig, root: string): { uid: number; gid: number; home: string } {
  const passwd = readPasswd(root);
  const [u = "", g] = (config.User ?? "").split(":");
  const fromImage = u === "" ? { uid: 0, gid: 0 } : /^\d+$/.test(u) ? { uid: Number(u), gid: passwd.find((p) => p.uid === Number(u))?.gid ?? 0 } : passwd.find((p) => p.name === u);
  if (!fromImage) throw new Error(`image user ${u} is not in the image's /etc/passwd`);
  const group = g === undefined ? undefined : /^\d+$/.test(g) ? Number(g) : readGroups(root).get(g);
  const sc = c.securityContext, psc = pod.spec?.securityContext;
  const uid = sc?.runAsUser ?? psc?.runAsUser ?? fromImage.uid;
  const explicitGid = sc?.runAsGroup ?? psc?.runAsGroup;
  // A runAsUser without runAsGroup takes that user's group from the image, else 0 (as containerd does); the image's USER its own.
  const gid = explicitGid ?? (uid === fromImage.uid ? (group ?? fromImage.gid) : (passwd.find((p) => p.uid === uid)?.gid ?? 0));
  return { uid, gid, home: passwd.find((p) => p.uid === uid)?.home ?? "/" };
}

function readPasswd(root: string): Array<{ name: string; uid: number; gid: number; home: string }> {
  try {
    return readFileSync(join(root, "etc/passwd"), "utf8").split("\n").filter(Boolean).map((l) => {
      const [name = "", , uid = "", gid = "", , home = "/"] = l.split(":");
      return { name, uid: Number(uid), gid: Number(gid), home };
    });
  } catch {
    return [];
  }
}

function readGroups(root: string): Map<string, number> {
  try {
    return new Map(readFileSync(join(root, "etc/group"), "utf8").split("\n").filter(Boolean).map((l) => [l.split(":")[0]!, Number(l.split(":")[2])]));
  } catch {
    return new Map();
  }
}

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * The shell script (run as root in a fresh private mount namespace) that builds the container's
 * filesystem under `scratch` and execs `"$@"` in it as `uid:gid`.
 */
function imageRootScript(o: {
  image: string;
  scratch: string;
  mounts: Array<{ source: string; target: string; readOnly: boolean }>;
  readOnlyRoot: boolean;
  hostsFile?: string;
  hosts: string;
  resolv: string;
  uid: number;
  gid: number;
  workingDir: string;
}): string {
  const R = `${o.scratch}/r`;
  const lines = [
    "set -e",
    `mount -t tmpfs -o mode=0755 es-mtls-image ${q(o.scratch)}`,
    `mkdir ${q(o.scratch + "/u")} ${q(o.scratch + "/w")} ${q(R)}`,
    `mount -t overlay overlay -o ${q(`lowerdir=${o.image},upperdir=${o.scratch}/u,workdir=${o.scratch}/w`)} ${q(R)}`,
    `mkdir -p ${q(R + "/proc")} ${q(R + "/dev")} ${q(R + "/etc")} ${q(R + "/run")}`,
    `mount -t proc -o nosuid,nodev,noexec proc ${q(R + "/proc")}`,
    `mount -t tmpfs -o mode=0755,nosuid es-mtls-dev ${q(R + "/dev")}`,
    ...DEVICES.map((d) => `: > ${q(`${R}/dev/${d}`)}; mount --bind /dev/${d} ${q(`${R}/dev/${d}`)}`),
    `mkdir ${q(R + "/dev/shm")}; mount -t tmpfs -o mode=1777,nosuid,nodev es-mtls-shm ${q(R + "/dev/shm")}`,
    `ln -s /proc/self/fd ${q(R + "/dev/fd")}; ln -s /proc/self/fd/0 ${q(R + "/dev/stdin")}; ln -s /proc/self/fd/1 ${q(R + "/dev/stdout")}; ln -s /proc/self/fd/2 ${q(R + "/dev/stderr")}`,
    `rm -f ${q(R + "/etc/resolv.conf")} ${q(R + "/etc/hosts")}`,
    `printf '%s' ${q(o.resolv)} > ${q(R + "/etc/resolv.conf")}`,
  ];
  if (o.hostsFile) {
    lines.push(
      `mkdir -p ${q(R + DNS_DIR)}; mount --bind ${q(dirname(o.hostsFile))} ${q(R + DNS_DIR)}; mount -o remount,bind,ro ${q(R + DNS_DIR)}`,
      // Relative, so it resolves the same through /proc/<pid>/root from the host (tests look there).
      `ln -s ${q(`..${DNS_DIR}/${basename(o.hostsFile)}`)} ${q(R + "/etc/hosts")}`,
    );
  } else lines.push(`printf '%s' ${q(o.hosts)} > ${q(R + "/etc/hosts")}`);
  // Outer mounts first: a nested one lands inside its parent's bind.
  for (const m of [...o.mounts].sort((a, b) => a.target.length - b.target.length)) {
    const t = q(R + m.target);
    lines.push(statSync(m.source).isDirectory() ? `mkdir -p ${t}` : `mkdir -p "$(dirname ${t})"; [ -e ${t} ] || : > ${t}`, `mount --bind ${q(m.source)} ${t}`);
    if (m.readOnly) lines.push(`mount -o remount,bind,ro ${t}`);
  }
  if (o.readOnlyRoot) lines.push(`mount -o remount,bind,ro ${q(R)}`);
  lines.push(`exec unshare --root=${q(R)} --wd=${q(o.workingDir)} --setgid ${o.gid} --setuid ${o.uid} -- "$@"`);
  return lines.join("\n");
}

/** Runs containers of the `images` from their root filesystems; see the top of this file. */
export function imageRunner(o: ImageRunnerOptions): ContainerRunner {
  const refs = new Set(o.images);
  return {
    name: "image",
    match: (c) => refs.has(c.image ?? ""),
    async start(ctx) {
      const ref = ctx.container.image!;
      const config = await imageConfig(ref);
      const image = await acquire(ref);
      const scratch = `${ctx.root}.image`;
      let proc: LocalProcess;
      try {
        proc = startIn(image, config, scratch, ctx, o);
      } catch (e) {
        release(ref);
        throw e;
      }
      void proc.exited.then(() => {
        release(ref);
        // The tmpfs was the namespace's: on the host this is an empty folder.
        rmSync(scratch, { recursive: true, force: true });
      });
      return proc;
    },
  };
}

function startIn(image: string, config: ImageConfig, scratch: string, ctx: ContainerContext, o: ImageRunnerOptions): LocalProcess {
  const c = ctx.container, pod = ctx.pod;
  const user = imageUser(c, pod, config, image);
  const imageEnv = Object.fromEntries((config.Env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]));
  const env = { PATH: DEFAULT_PATH, HOME: user.home, HOSTNAME: pod.metadata!.name!, ...imageEnv, ...ctx.env, ...(o.env?.(ctx) ?? {}) };
  const argv = imageArgv(c, config, env);
  if (argv.length === 0) throw new Error(`image ${c.image} has no entrypoint and container ${c.name} no command`);
  const ns = pod.metadata!.namespace!;
  const search = `${ns}.svc.cluster.local svc.cluster.local cluster.local`;
  const mounts = (c.volumeMounts ?? []).map((m) => {
    const target = m.mountPath.replace(/\/+$/, "") || "/";
    if (target === "/") throw new Error(`container ${c.name} mounts a volume at /`);
    return { source: realpathSync(join(ctx.root, target)), target, readOnly: m.readOnly === true };
  });
  mkdirSync(scratch, { recursive: true });
  const script = imageRootScript({
    image,
    scratch,
    mounts,
    readOnlyRoot: c.securityContext?.readOnlyRootFilesystem === true,
    ...(o.hostsFile && existsSync(o.hostsFile) ? { hostsFile: o.hostsFile } : {}),
    hosts: `127.0.0.1 localhost\n${ctx.podIP} ${pod.metadata!.name}\n`,
    resolv: `search ${search}\noptions ndots:5\n`,
    uid: user.uid,
    gid: user.gid,
    workingDir: c.workingDir || config.WorkingDir || "/",
  });
  const full = ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, `image:${c.name}`, ...argv];
  return o.spawn ? o.spawn(full, env, ctx) : spawnProcess(full, { env, cwd: scratch, logFile: ctx.logFile });
}
