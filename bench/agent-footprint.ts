// Footprint of the agent at idle, on Bun (the compiled binary, as shipped) and on
// Deno, each against a bare hello-world HTTP server of the same runtime measured in
// the same run. Prints JSON. Usage:
//   bun bench/agent-footprint.ts [--window-s=60] [--settle-s=5]
// The agent runs against the fixture intent server and an ES stand-in (required) with
// one applied intent and a proven workload, so "idle" includes heartbeats and timers.
import { spawn, type Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { sha256Hex } from "../common/digest.ts";
import { freePort } from "../test/support/ports.ts";
import { ElasticsearchStandin } from "../test/fixtures/elasticsearch-standin.ts";
import { IntentServer, issueLeaf, makeCa } from "../test/fixtures/intent-server.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const WINDOW_S = arg("window-s", 60);
const SETTLE_S = arg("settle-s", 5);
const REPO = resolve(import.meta.dir, "..");
const DENO = join(REPO, "node_modules", "@deno", "linux-x64-glibc", "deno");
const work = fs.mkdtempSync(join(os.tmpdir(), "es-mtls-bench-"));
const procs: Subprocess[] = [];
const CLK_TCK = 100; // Linux USER_HZ

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m?.[1] ?? NaN);
}
function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]); // utime + stime
}
async function waitHttp(url: string, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {}
    await Bun.sleep(100);
  }
  throw new Error(`${url} not up`);
}
function run(cmd: string[]): Subprocess {
  const p = spawn(cmd, { cwd: REPO, stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), DENO_NO_UPDATE_CHECK: "1" } });
  procs.push(p);
  return p;
}

try {
  // Build the shipped binary and a compiled hello-world for the Bun baseline.
  const bin = join(work, "es-mtls-agent");
  const helloBun = join(work, "hello-bun.ts");
  const helloDeno = join(work, "hello-deno.ts");
  fs.writeFileSync(helloBun, `Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: () => new Response("ok") });\n`);
  fs.writeFileSync(helloDeno, `Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.args[0]), onListen() {} }, () => new Response("ok"));\n`);
  for (const [src, out] of [[join(REPO, "agent/main.ts"), bin], [helloBun, join(work, "hello-bun")]] as const) {
    const b = spawn([process.execPath, "build", "--compile", "--minify", src, "--outfile", out], { cwd: REPO, stdout: "ignore", stderr: "pipe" });
    if ((await b.exited) !== 0) throw new Error(`build of ${src} failed: ${await new Response(b.stderr).text()}`);
  }

  const token = "bench-token";
  fs.writeFileSync(join(work, "token"), token);
  const server = await new IntentServer({ token: () => token }).start();
  fs.writeFileSync(join(work, "controller-ca.crt"), server.servingCa.pem);
  const httpCa = await makeCa("bench http ca");
  const leaf = await issueLeaf(httpCa, { cn: "es", server: true });
  fs.writeFileSync(join(work, "http.crt"), leaf.certPem);
  fs.writeFileSync(join(work, "http.key"), leaf.keyPem!);

  const agents: Record<string, { pid: number; health: number }> = {};
  const standins: ElasticsearchStandin[] = [];
  for (const rt of ["bun", "deno"] as const) {
    const out = join(work, `out-${rt}`);
    const esPort = freePort();
    const health = freePort();
    const pem = server.clientCa.pem;
    server.publish({
      pod: { namespace: "bench", name: `es-${rt}`, uid: rt },
      role: "elasticsearch",
      cluster: { namespace: "bench", name: "bench" },
      phase: "Enabled",
      enforcement: "required",
      trustBundle: { pem, sha256: sha256Hex(pem) },
      identity: { source: "managed", subject: { commonName: `es-${rt}`, organizationalUnit: "bench" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 86400, renewAtFraction: 2 / 3 },
      files: { dir: out, bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: process.getuid!(), gid: process.getgid!() },
    });
    const args = [`--controller-url=${server.url}`, `--controller-ca=${join(work, "controller-ca.crt")}`, `--token-file=${join(work, "token")}`, "--role=elasticsearch", `--dir=${out}`, "--health-addr=127.0.0.1", `--health-port=${health}`, `--probe-url=https://127.0.0.1:${esPort}`, "--proof-interval-ms=300"];
    const p = rt === "bun" ? run([bin, ...args]) : run([DENO, "run", "-A", "--quiet", join(REPO, "agent/main.ts"), ...args]);
    agents[rt] = { pid: p.pid, health };
    await waitHttp(`http://127.0.0.1:${health}/healthz`);
    const deadline = Date.now() + 20_000;
    while (!fs.existsSync(join(out, "client-trust-bundle.crt")) && Date.now() < deadline) await Bun.sleep(100);
    standins.push(await new ElasticsearchStandin({ keyFile: join(work, "http.key"), certFile: join(work, "http.crt"), caFiles: [join(out, "client-trust-bundle.crt")], clientAuthentication: "required", port: esPort }).start());
    const d2 = Date.now() + 20_000;
    while ((await fetch(`http://127.0.0.1:${health}/readyz`)).status !== 200 && Date.now() < d2) await Bun.sleep(200);
  }
  const hb = freePort();
  const hd = freePort();
  const helloB = run([join(work, "hello-bun"), String(hb)]);
  const helloD = run([DENO, "run", "-A", "--quiet", helloDeno, String(hd)]);
  await waitHttp(`http://127.0.0.1:${hb}/`);
  await waitHttp(`http://127.0.0.1:${hd}/`);
  // One request each, so the hello servers have touched their HTTP path as the agents have.
  await Bun.sleep(SETTLE_S * 1000);

  const subjects: Record<string, number> = { agent_bun_binary: agents.bun!.pid, agent_deno: agents.deno!.pid, hello_bun_binary: helloB.pid, hello_deno: helloD.pid };
  const t0 = Object.fromEntries(Object.entries(subjects).map(([k, pid]) => [k, cpuTicks(pid)]));
  const s0 = performance.now();
  const rssSamples: Record<string, number[]> = Object.fromEntries(Object.keys(subjects).map((k) => [k, []]));
  while (performance.now() - s0 < WINDOW_S * 1000) {
    for (const [k, pid] of Object.entries(subjects)) rssSamples[k]!.push(rssKiB(pid));
    await Bun.sleep(Math.min(5000, WINDOW_S * 250));
  }
  const secs = (performance.now() - s0) / 1000;
  const result: Record<string, unknown> = {};
  for (const [k, pid] of Object.entries(subjects)) {
    const ticks = cpuTicks(pid) - t0[k]!;
    const rss = rssSamples[k]!;
    result[k] = {
      rss_mib_end: +(rssKiB(pid) / 1024).toFixed(1),
      rss_mib_max: +(Math.max(...rss) / 1024).toFixed(1),
      cpu_millicores_avg: +((ticks / CLK_TCK / secs) * 1000).toFixed(2),
      cpu_seconds: +(ticks / CLK_TCK).toFixed(2),
    };
  }
  const agentReady = {
    bun: (await fetch(`http://127.0.0.1:${agents.bun!.health}/readyz`)).status === 200,
    deno: (await fetch(`http://127.0.0.1:${agents.deno!.health}/readyz`)).status === 200,
  };
  const r = result as Record<string, { rss_mib_end: number }>;
  console.log(
    JSON.stringify(
      {
        window_s: +secs.toFixed(1),
        settle_s: SETTLE_S,
        agents_ready: agentReady,
        ...result,
        rss_overhead_mib: { bun: +(r.agent_bun_binary!.rss_mib_end - r.hello_bun_binary!.rss_mib_end).toFixed(1), deno: +(r.agent_deno!.rss_mib_end - r.hello_deno!.rss_mib_end).toFixed(1) },
        binary_size_mib: { agent_bun_binary: +(fs.statSync(bin).size / 2 ** 20).toFixed(1), hello_bun_binary: +(fs.statSync(join(work, "hello-bun")).size / 2 ** 20).toFixed(1) },
        versions: { bun: Bun.version, deno: (await new Response(spawn([DENO, "--version"], { stdout: "pipe" }).stdout).text()).split("\n")[0] },
      },
      null,
      2,
    ),
  );
  for (const s of standins) await s.stop();
  await server.stop();
} finally {
  for (const p of procs) {
    try {
      p.kill(9);
    } catch {}
  }
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(0);
