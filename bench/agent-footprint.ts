// Footprint of the agent at idle, on Bun (the compiled binary, as shipped; and a candidate build
// with --bytecode) and on Deno, each against two floors of the same runtime measured in the same
// run: a hello-world hono server (issue 21's floor: hono is the agent's HTTP library, so its cost
// is not the agent's) and a bare one (Bun.serve / Deno.serve, no hono): RSS and CPU over the window, start → /startupz (hello: start → first
// response), binary size, and the memory each module adds when imported alone (a fresh process
// per module; "where the memory goes"). Prints JSON and a one-line summary; exits 1 only when an
// agent never became ready. Usage:
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
import { IntentServer } from "../test/fixtures/intent-server.ts";
import { TestCA, issueCertificate } from "../test/support/test-ca.ts";

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
async function waitHttp(url: string, timeoutMs = 20_000, pollMs = 100): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    try {
      if ((await fetch(url)).status < 500) return;
    } catch {}
    await Bun.sleep(pollMs);
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
  // The hono floors import the repository's hono by path: the files live outside it.
  const hono = `import { Hono } from ${JSON.stringify(join(REPO, "node_modules/hono/dist/index.js"))};\nconst app = new Hono();\napp.get("/", (c) => c.text("ok"));\n`;
  const honoBun = join(work, "hono-bun.ts");
  const honoDeno = join(work, "hono-deno.ts");
  fs.writeFileSync(honoBun, `${hono}Bun.serve({ hostname: "127.0.0.1", port: Number(process.argv[2]), fetch: app.fetch });\n`);
  fs.writeFileSync(honoDeno, `${hono}Deno.serve({ hostname: "127.0.0.1", port: Number(Deno.args[0]), onListen() {} }, app.fetch);\n`);
  const binBytecode = join(work, "es-mtls-agent-bytecode");
  for (const [src, out, extra] of [[join(REPO, "agent/main.ts"), bin, []], [join(REPO, "agent/main.ts"), binBytecode, ["--bytecode"]], [helloBun, join(work, "hello-bun"), []], [honoBun, join(work, "hono-bun"), []]] as const) {
    const b = spawn([process.execPath, "build", "--compile", "--minify", ...extra, src, "--outfile", out], { cwd: REPO, stdout: "ignore", stderr: "pipe" });
    if ((await b.exited) !== 0) throw new Error(`build of ${src} failed: ${await new Response(b.stderr).text()}`);
  }

  const token = "bench-token";
  fs.writeFileSync(join(work, "token"), token);
  const server = await new IntentServer({ token: () => token }).start();
  fs.writeFileSync(join(work, "controller-ca.crt"), server.servingCa.pem);
  const httpCa = await TestCA.create("bench http ca");
  const leaf = await issueCertificate(httpCa, { cn: "es", server: true });
  fs.writeFileSync(join(work, "http.crt"), leaf.certPem);
  fs.writeFileSync(join(work, "http.key"), leaf.keyPem!);

  const agents: Record<string, { pid: number; health: number; startupMs: number }> = {};
  const standins: ElasticsearchStandin[] = [];
  for (const rt of ["bun", "bun_bytecode", "deno"] as const) {
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
    const started = performance.now();
    const p = rt === "bun" ? run([bin, ...args]) : rt === "bun_bytecode" ? run([binBytecode, ...args]) : run([DENO, "run", "-A", "--quiet", join(REPO, "agent/main.ts"), ...args]);
    // Start → /startupz 200 (a complete set on disk: key generated, CSR signed, files written).
    const deadline = Date.now() + 20_000;
    let startupMs = NaN;
    while (Date.now() < deadline) {
      const ok = await fetch(`http://127.0.0.1:${health}/startupz`).then((r) => r.status === 200, () => false);
      if (ok) {
        startupMs = Math.round(performance.now() - started);
        break;
      }
      await Bun.sleep(10);
    }
    agents[rt] = { pid: p.pid, health, startupMs };
    standins.push(await new ElasticsearchStandin({ keyFile: join(work, "http.key"), certFile: join(work, "http.crt"), caFiles: [join(out, "client-trust-bundle.crt")], clientAuthentication: "required", port: esPort }).start());
    const d2 = Date.now() + 20_000;
    while ((await fetch(`http://127.0.0.1:${health}/readyz`)).status !== 200 && Date.now() < d2) await Bun.sleep(200);
  }
  const hb = freePort();
  const hd = freePort();
  let hb2 = 0;
  let hd2 = 0;
  const helloStart = performance.now();
  const helloB = run([join(work, "hello-bun"), String(hb)]);
  await waitHttp(`http://127.0.0.1:${hb}/`, 20_000, 10);
  const helloBunStartupMs = Math.round(performance.now() - helloStart);
  const helloDStart = performance.now();
  const helloD = run([DENO, "run", "-A", "--quiet", helloDeno, String(hd)]);
  await waitHttp(`http://127.0.0.1:${hd}/`, 20_000, 10);
  const helloDenoStartupMs = Math.round(performance.now() - helloDStart);
  const honoB = run([join(work, "hono-bun"), String((hb2 = freePort()))]);
  await waitHttp(`http://127.0.0.1:${hb2}/`, 20_000, 10);
  const honoD = run([DENO, "run", "-A", "--quiet", honoDeno, String((hd2 = freePort()))]);
  await waitHttp(`http://127.0.0.1:${hd2}/`, 20_000, 10);
  // One request each, so the hello servers have touched their HTTP path as the agents have.
  await Bun.sleep(SETTLE_S * 1000);

  const subjects: Record<string, number> = { agent_bun_binary: agents.bun!.pid, agent_bun_binary_bytecode: agents.bun_bytecode!.pid, agent_deno: agents.deno!.pid, hello_bun_binary: helloB.pid, hello_deno: helloD.pid, hono_bun_binary: honoB.pid, hono_deno: honoD.pid };
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
  const agentReady = Object.fromEntries(await Promise.all(Object.entries(agents).map(async ([rt, a]) => [rt, await fetch(`http://127.0.0.1:${a.health}/readyz`).then((x) => x.status === 200, () => false)] as const)));
  const r = result as Record<string, { rss_mib_end: number; cpu_millicores_avg: number }>;
  for (const s of standins) await s.stop();
  await server.stop();
  for (const p of procs) {
    try {
      p.kill(9);
    } catch {}
  }
  const modules = await moduleCosts();
  const summary = {
        bench: "agent-footprint",
        date: new Date().toISOString(),
        window_s: +secs.toFixed(1),
        settle_s: SETTLE_S,
        agents_ready: agentReady,
        ...result,
        // Over the hono floor: what issue 21's goal (≤ +5 MiB) is about.
        rss_overhead_mib: {
          bun: +(r.agent_bun_binary!.rss_mib_end - r.hono_bun_binary!.rss_mib_end).toFixed(1),
          bun_bytecode: +(r.agent_bun_binary_bytecode!.rss_mib_end - r.hono_bun_binary!.rss_mib_end).toFixed(1),
          deno: +(r.agent_deno!.rss_mib_end - r.hono_deno!.rss_mib_end).toFixed(1),
        },
        rss_overhead_over_bare_mib: {
          bun: +(r.agent_bun_binary!.rss_mib_end - r.hello_bun_binary!.rss_mib_end).toFixed(1),
          bun_bytecode: +(r.agent_bun_binary_bytecode!.rss_mib_end - r.hello_bun_binary!.rss_mib_end).toFixed(1),
          deno: +(r.agent_deno!.rss_mib_end - r.hello_deno!.rss_mib_end).toFixed(1),
        },
        startup_ms: { agent_bun_binary: agents.bun!.startupMs, agent_bun_binary_bytecode: agents.bun_bytecode!.startupMs, agent_deno: agents.deno!.startupMs, hello_bun_binary: helloBunStartupMs, hello_deno: helloDenoStartupMs },
        binary_size_mib: { agent_bun_binary: +(fs.statSync(bin).size / 2 ** 20).toFixed(1), agent_bun_binary_bytecode: +(fs.statSync(binBytecode).size / 2 ** 20).toFixed(1), hello_bun_binary: +(fs.statSync(join(work, "hello-bun")).size / 2 ** 20).toFixed(1) },
        module_costs_bun: modules,
        versions: { bun: Bun.version, deno: (await new Response(spawn([DENO, "--version"], { stdout: "pipe" }).stdout).text()).split("\n")[0] },
  };
  console.log(JSON.stringify(summary, null, 2));
  const o = summary.rss_overhead_mib;
  const ob = summary.rss_overhead_over_bare_mib;
  console.log(
    `idle RSS over the hono hello-world floor: Bun binary +${o.bun} MiB (bytecode +${o.bun_bytecode}), Deno +${o.deno} MiB (target ≤ 5); over the bare floor +${ob.bun} / +${ob.bun_bytecode} / +${ob.deno}; CPU ${r.agent_bun_binary!.cpu_millicores_avg} / ${r.agent_bun_binary_bytecode!.cpu_millicores_avg} / ${r.agent_deno!.cpu_millicores_avg} mcores (target < 1); ` +
      `startupz ${agents.bun!.startupMs} / ${agents.bun_bytecode!.startupMs} / ${agents.deno!.startupMs} ms (hello ${helloBunStartupMs} / ${helloDenoStartupMs} ms)` +
      (Object.values(agentReady).every(Boolean) ? "" : ` — INVALID: agent not ready ${JSON.stringify(agentReady)}`),
  );
  if (!Object.values(agentReady).every(Boolean)) process.exitCode = 1;
} finally {
  for (const p of procs) {
    try {
      p.kill(9);
    } catch {}
  }
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);

/**
 * RSS and JS heap a module adds when imported alone into a fresh Bun process (after a full GC),
 * against the same process importing nothing. Shared dependencies count in each row that uses them.
 */
async function moduleCosts(): Promise<Record<string, { rss_mib: number; heap_mib: number; objects_k: number }>> {
  const targets: Record<string, string | undefined> = {
    "(nothing)": undefined,
    "reflect-metadata + @peculiar/x509 (common/x509.ts)": join(REPO, "common/x509.ts"),
    "hono": "hono",
    // The runtime's compat modules the agent needs (the floor the agent cannot go below while it
    // reads certificates with X509Certificate and proves with node:tls handshakes), and what a
    // Kibana pod or the Deno adapter adds.
    "node:crypto": "node:crypto",
    "node:tls": "node:tls",
    "node:http": "node:http",
    "node:https": "node:https",
    "jose": "jose",
    "agent/identity/csr.ts (CSR: common/der/ + WebCrypto)": join(REPO, "agent/identity/csr.ts"),
    "agent/material/certificate.ts (node:crypto X509Certificate)": join(REPO, "agent/material/certificate.ts"),
    "agent/material/material.ts (PEM checks)": join(REPO, "agent/material/material.ts"),
    "agent/report/health-server.ts": join(REPO, "agent/report/health-server.ts"),
    "agent/assemble.ts (everything)": join(REPO, "agent/assemble.ts"),
  };
  const probe = (spec: string | undefined) => `
    ${spec ? `await import(${JSON.stringify(spec)});` : ""}
    Bun.gc(true); await Bun.sleep(50); Bun.gc(true);
    const { heapStats } = await import("bun:jsc");
    const h = heapStats();
    console.log(JSON.stringify({ rss: process.memoryUsage().rss, heap: h.heapSize, objects: h.objectCount }));`;
  const measureOne = async (spec: string | undefined) => {
    const samples = [];
    for (let i = 0; i < 3; i++) {
      const p = spawn([process.execPath, "-e", probe(spec)], { cwd: REPO, stdout: "pipe", stderr: "ignore" });
      samples.push(JSON.parse((await new Response(p.stdout).text()).trim().split("\n").pop()!) as { rss: number; heap: number; objects: number });
    }
    samples.sort((a, b) => a.rss - b.rss);
    return samples[1]!;
  };
  const base = await measureOne(undefined);
  const out: Record<string, { rss_mib: number; heap_mib: number; objects_k: number }> = {};
  for (const [name, spec] of Object.entries(targets)) {
    const m = spec === undefined ? base : await measureOne(spec);
    const d = spec === undefined ? { rss: m.rss, heap: m.heap, objects: m.objects } : { rss: m.rss - base.rss, heap: m.heap - base.heap, objects: m.objects - base.objects };
    out[name] = { rss_mib: +(d.rss / 2 ** 20).toFixed(1), heap_mib: +(d.heap / 2 ** 20).toFixed(1), objects_k: +(d.objects / 1000).toFixed(1) };
  }
  return out;
}
