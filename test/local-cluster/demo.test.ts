// `npm start` as a user runs it (issue 10 item 5): `bash test/local-cluster/start.sh
// --exit-when-done` as a child process with a deadline. The output must show the Enabled table
// (3/3), the request without a certificate refused and the trusted one accepted while required,
// the Disabled table, exit code 0 — and no process the demo started may outlive it. Descendants
// are found by walking /proc while it runs (parent links), so nothing relies on the demo's own
// bookkeeping; each is remembered with its start time so a reused PID is not mistaken for it.
import { expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { agentSource, agentSourceName } from "../e2e/lifecycle/cluster.ts";

const REPO = resolve(import.meta.dir, "../..");
const DEADLINE_MS = 240_000;
// As the demo decides (its image where podman is present): found or built here, before the deadline runs.
const which = agentSourceName(agentSource((l) => console.error(`[images] ${l}`)));

/** pid → [ppid, starttime] from /proc/<pid>/stat (fields after the parenthesised command). */
function stat(pid: number): [number, string] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = s.slice(s.lastIndexOf(")") + 2).split(" ");
    if (f[0] === "Z") return undefined; // a zombie has exited
    return [Number(f[1]), f[19]!];
  } catch {
    return undefined;
  }
}

/** Adds every live descendant of `root` to `seen` (pid → start time + command line). */
function collect(root: number, seen: Map<number, { start: string; cmd: string }>): void {
  const parent = new Map<number, number>();
  const start = new Map<number, string>();
  for (const d of readdirSync("/proc")) {
    const pid = Number(d);
    if (!Number.isInteger(pid)) continue;
    const s = stat(pid);
    if (s) [parent.set(pid, s[0]), start.set(pid, s[1])];
  }
  for (const [pid] of parent) {
    let p: number | undefined = pid;
    while (p && p !== root && p > 1) p = parent.get(p);
    if (p !== root) continue;
    let cmd = "";
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").slice(0, 120);
    } catch {}
    // Sampled between fork and exec, a process still shows its parent's command line: keep every
    // command line a process showed, not only the first (a PID and its start time stay the same).
    const prev = seen.get(pid);
    seen.set(pid, { start: start.get(pid)!, cmd: !prev || prev.cmd.includes(cmd) ? (prev?.cmd ?? cmd) : `${prev.cmd}\n${cmd}` });
  }
}

test(`npm start --exit-when-done (${which}): enables (3 ES + Kibana 4/4, no certificate refused, trusted accepted), disables, exits 0, leaves no process`, async () => {
  const t0 = Date.now();
  const child = spawn("bash", ["test/local-cluster/start.sh", "--exit-when-done"], { cwd: REPO, stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout.on("data", (b) => (out += b));
  child.stderr.on("data", (b) => (out += b));
  const seen = new Map<number, { start: string; cmd: string }>();
  const sampler = setInterval(() => collect(child.pid!, seen), 250);
  // On the deadline: kill the whole process group (the demo's processes stay in it), then fail.
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), DEADLINE_MS);
  const code = await new Promise<number | null>((r) => child.on("exit", (c) => r(c)));
  clearInterval(sampler);
  clearTimeout(timer);
  console.log(`demo: exit ${code} after ${((Date.now() - t0) / 1000).toFixed(1)} s, ${seen.size} descendant processes seen`);
  if (code !== 0) console.log(out.split("\n").slice(-40).join("\n"));

  expect(code).toBe(0);
  // 4/4: the three ES pods and the Kibana pod proved their material.
  expect(out).toMatch(/quickstart\s+Enabled\s+required\s+4\/4/);
  expect(out).toMatch(/Kibana quickstart-kb-\S+: available/);
  // While required (between the Enabled table and switching off): every pod refuses the request
  // without a certificate and accepts the trusted one.
  const required = out.slice(out.indexOf("requests while certificates are required"), out.indexOf("switching client authentication OFF"));
  expect(required.match(/without a certificate: refused/g)).toHaveLength(3);
  expect(required.match(/with the trusted certificate: accepted/g)).toHaveLength(3);
  expect(required).not.toContain("without a certificate: accepted");
  expect(out).toMatch(/quickstart\s+Disabled\s+none/);
  expect(out).toContain("demo complete");
  expect(out).toContain(`  ${which}: `);
  // The sampler saw the control plane, the controller and the pods' processes…
  const cmds = [...seen.values()].map((v) => v.cmd).join("\n");
  expect(cmds).toContain("kube-apiserver");
  expect(cmds).toContain("es-mtls-agent");
  // …and none of them is alive any more (same PID and same start time).
  await Bun.sleep(500);
  const alive = [...seen].filter(([pid, v]) => stat(pid)?.[1] === v.start).map(([pid, v]) => `${pid} ${v.cmd}`);
  expect(alive).toEqual([]);
}, DEADLINE_MS + 30_000);
