// Startup, readiness and liveness probes as the kubelet runs them: httpGet
// (200–399 passes, TLS not verified), tcpSocket (connects), exec (exit 0, run as
// a local process with the container's env in its root folder; as root, inside a
// private mount namespace with the container's mounts at their container paths and
// `127.0.0.1` meaning the pod: probe-namespace.ts); thresholds and periods from
// the spec. Targets are the pod's own address and declared ports.
import type * as k8s from "@kubernetes/client-node";
import { connect } from "node:net";
import { inContainerMounts, mountNamespaceAvailable, podLocalArgv } from "./probe-namespace.ts";
import { resolvePort } from "./ports.ts";
import { spawnProcess } from "./processes.ts";
import { processEnv } from "./runners.ts";

export interface ProbeTarget {
  podIP: string;
  container: k8s.V1Container;
  env: Record<string, string>;
  root: string;
  logFile: string;
}

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

export async function runProbe(p: k8s.V1Probe, t: ProbeTarget): Promise<ProbeResult> {
  const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
  try {
    if (p.httpGet) return await httpGet(p.httpGet, t, timeoutMs);
    if (p.tcpSocket) return await tcp(p.tcpSocket.host ?? t.podIP, resolvePort(p.tcpSocket.port, t.container), timeoutMs);
    if (p.exec) return await execProbe(p.exec.command ?? [], t, timeoutMs);
    return { ok: false, detail: "the test node supports httpGet, tcpSocket and exec probes only" };
  } catch (e) {
    return { ok: false, detail: (e as Error).message };
  }
}

async function httpGet(h: k8s.V1HTTPGetAction, t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const scheme = (h.scheme ?? "HTTP").toLowerCase();
  const url = `${scheme}://${h.host ?? t.podIP}:${resolvePort(h.port, t.container)}${h.path ?? "/"}`;
  const headers: Record<string, string> = { "user-agent": "kube-probe/test-node" };
  for (const x of h.httpHeaders ?? []) headers[x.name] = x.value;
  const r = await fetch(url, { headers, redirect: "manual", signal: AbortSignal.timeout(timeoutMs), tls: { rejectUnauthorized: false } } as RequestInit);
  await r.arrayBuffer().catch(() => undefined);
  return { ok: r.status >= 200 && r.status < 400, detail: `GET ${url}: ${r.status}` };
}

function tcp(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    const done = (ok: boolean, detail: string) => {
      s.destroy();
      resolve({ ok, detail });
    };
    s.setTimeout(timeoutMs, () => done(false, `tcp ${host}:${port}: timeout`));
    s.once("connect", () => done(true, `tcp ${host}:${port}: connected`));
    s.once("error", (e) => done(false, `tcp ${host}:${port}: ${e.message}`));
  });
}

async function execProbe(command: string[], t: ProbeTarget, timeoutMs: number): Promise<ProbeResult> {
  const argv = podLocalArgv(command, t.podIP);
  const run = mountNamespaceAvailable() ? inContainerMounts(argv, t.container, t.root) : argv;
  const p = spawnProcess(run, { env: processEnv(t.env), cwd: t.root, logFile: t.logFile });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const code = await Promise.race([p.exited, timedOut]);
  clearTimeout(timer);
  if (code === "timeout") {
    p.kill("SIGKILL");
    await p.exited;
    return { ok: false, detail: `exec ${command.join(" ")}: timed out` };
  }
  return { ok: code === 0, detail: `exec ${command.join(" ")}: exit ${code}` };
}

export type ProbeKind = "startup" | "readiness" | "liveness";

/**
 * Runs one probe on its period and reports the thresholded outcome:
 * `true` after successThreshold consecutive passes, `false` after failureThreshold
 * consecutive failures (startup and liveness: the container is then restarted).
 */
export class Prober {
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private passes = 0;
  private failures = 0;
  private outcome: boolean | undefined;
  lastDetail = "";

  constructor(
    readonly kind: ProbeKind,
    private readonly probe: k8s.V1Probe,
    private readonly target: ProbeTarget,
    private readonly onOutcome: (ok: boolean, detail: string) => void,
  ) {}

  start(immediately = false): void {
    const delay = immediately ? 0 : (this.probe.initialDelaySeconds ?? 0) * 1000;
    this.timer = setTimeout(() => void this.tick(), delay);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.stopped) return;
    const r = await runProbe(this.probe, this.target);
    if (this.stopped) return;
    this.lastDetail = r.detail;
    if (r.ok) {
      this.failures = 0;
      this.passes++;
      if (this.passes >= (this.probe.successThreshold ?? 1)) this.report(true, r.detail);
    } else {
      this.passes = 0;
      this.failures++;
      if (this.failures >= (this.probe.failureThreshold ?? 3)) this.report(false, r.detail);
    }
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), (this.probe.periodSeconds ?? 10) * 1000);
  }

  private report(ok: boolean, detail: string): void {
    // Liveness and startup failures are reported every time (each one may restart); the rest on change.
    if (this.outcome === ok && (ok || this.kind === "readiness")) return;
    this.outcome = ok;
    this.onOutcome(ok, detail);
  }
}
