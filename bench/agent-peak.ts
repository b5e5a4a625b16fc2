// Peak RSS and CPU of the agent during a certificate renewal (a new key, CSR, signed certificate,
// proof: the intent's identity changes; seen in /status, polled every 20 ms) and during a write of a ~900 KiB trust bundle, on the
// compiled Bun binary and on Deno (issue 21: the injected agent's memory limit must hold the peak).
// Baseline, same run: each agent's own idle RSS and CPU in a window as long as the event's.
// The peak is the kernel's VmHWM, reset before each event (clear_refs 5), so no sample is missed.
// Prints JSON and a one-line summary; exits 1 only when an agent never wrote what it was sent.
// Usage: bun bench/agent-peak.ts [--events=3] [--bundle-kib=900] [--deno-v8-flags=--max-old-space-size=64]
import { spawn, type Subprocess } from "bun";
import * as fs from "node:fs";
import * as os from "node:os";
import { join, resolve } from "node:path";
import { sha256Hex } from "../common/digest.ts";
import type { Intent } from "../protocol/intent.ts";
import { ElasticsearchStandin } from "../test/fixtures/elasticsearch-standin.ts";
import { IntentServer } from "../test/fixtures/intent-server.ts";
import { freePort } from "../test/support/ports.ts";
import { TestCA, issueCertificate } from "../test/support/test-ca.ts";

const arg = (name: string, def: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1] ?? def);
const EVENTS = arg("events", 3);
const BUNDLE_KIB = arg("bundle-kib", 900);
// Deno's V8 sizes its old space from the machine's memory, not a container's limit: this tries a cap.
const DENO_V8_FLAGS = process.argv.find((a) => a.startsWith("--deno-v8-flags="))?.slice("--deno-v8-flags=".length);
const SETTLE_MS = 1500; // after the file lands: the report and the proof that follow it count too
const REPO = resolve(import.meta.dir, "..");
const DENO = join(REPO, "node_modules", "@deno", "linux-x64-glibc", "deno");
const CLK_TCK = 100; // Linux USER_HZ
const work = fs.mkdtempSync(join(os.tmpdir(), "es-mtls-peak-"));
const procs: Subprocess[] = [];

const status = (pid: number) => fs.readFileSync(`/proc/${pid}/status`, "utf8");
const kib = (pid: number, field: "VmRSS" | "VmHWM") => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(status(pid))?.[1] ?? NaN);
function cpuTicks(pid: number): number {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const rest = f.slice(f.lastIndexOf(")") + 2).split(" ");
  return Number(rest[11]) + Number(rest[12]);
}
const mib = (k: number) => +(k / 1024).toFixed(1);
const readOr = (p: string) => {
  try {
    return fs.readFileSync(p, "utf8");
  } catch {
    return "";
  }
};

/** The certificate the agent holds (an Elasticsearch pod's agent keeps it out of --dir), from its /status. */
const certificateOf = (health: number) =>
  fetch(`http://127.0.0.1:${health}/status`).then(
    async (r) => ((await r.json()) as { certificate?: { sha256: string } }).certificate?.sha256 ?? "",
    () => "",
  );

/** Runs `trigger`, waits until `current()` differs from before, then SETTLE_MS: peak RSS and CPU over that window. */
async function event(pid: number, current: () => string | Promise<string>, trigger: () => void): Promise<{ peak_mib: number; cpu_s: number; window_ms: number; landed: boolean }> {
  const before = await current();
  fs.writeFileSync(`/proc/${pid}/clear_refs`, "5"); // resets VmHWM to the current RSS
  const t0 = cpuTicks(pid);
  const s0 = performance.now();
  trigger();
  let landed = false;
  while (performance.now() - s0 < 20_000) {
    if ((await current()) !== before) {
      landed = true;
      break;
    }
    await Bun.sleep(20);
  }
  await Bun.sleep(SETTLE_MS);
  return { peak_mib: mib(kib(pid, "VmHWM")), cpu_s: (cpuTicks(pid) - t0) / CLK_TCK, window_ms: Math.round(performance.now() - s0), landed };
}

try {
  const bin = join(work, "es-mtls-agent");
  const b = spawn([process.execPath, "build", "--compile", "--minify", join(REPO, "agent/main.ts"), "--outfile", bin], { cwd: REPO, stdout: "ignore", stderr: "pipe" });
  if ((await b.exited) !== 0) throw new Error(`build failed: ${await new Response(b.stderr).text()}`);

  const token = "bench-token";
  fs.writeFileSync(join(work, "token"), token);
  const server = await new IntentServer({ token: () => token }).start();
  fs.writeFileSync(join(work, "controller-ca.crt"), server.servingCa.pem);
  const httpCa = await TestCA.create("bench http ca");
  const leaf = await issueCertificate(httpCa, { cn: "es", server: true });
  fs.writeFileSync(join(work, "http.crt"), leaf.certPem);
  fs.writeFileSync(join(work, "http.key"), leaf.keyPem!);

  // Two bundles of ~BUNDLE_KIB each (the client CA and distinct filler certificates), so each write
  // changes the file. The fillers carry an RSA-4096 key (~1.25 KiB of PEM each): the agent takes at
  // most 1,000 blocks (agent/material/pem.ts), so 900 KiB of P-256 certificates would be refused.
  const filler = await TestCA.create("bench bundle filler");
  const rsa = (await crypto.subtle.generateKey({ name: "RSASSA-PKCS1-v1_5", modulusLength: 4096, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const fillers: string[] = [];
  let fillerBytes = 0;
  while (fillerBytes < BUNDLE_KIB * 1024) {
    const pem = (await issueCertificate(filler, { cn: `filler-${fillers.length}`, publicKey: rsa.publicKey })).certPem;
    fillers.push(pem);
    fillerBytes += pem.length;
  }
  const bundles = [server.clientCa.pem + fillers.slice(1).join(""), server.clientCa.pem + fillers.slice(0, -1).join("")];

  const result: Record<string, unknown> = {};
  let valid = true;
  for (const rt of ["bun_binary", "deno"] as const) {
    const out = join(work, `out-${rt}`);
    const esPort = freePort();
    const health = freePort();
    const base = (ou: string, pem: string): Omit<Intent, "generation" | "type"> => ({
      pod: { namespace: "bench", name: `es-${rt}`, uid: rt },
      role: "elasticsearch",
      cluster: { namespace: "bench", name: "bench" },
      phase: "Enabled",
      enforcement: "required",
      trustBundle: { pem, sha256: sha256Hex(pem) },
      identity: { source: "managed", subject: { commonName: `es-${rt}`, organizationalUnit: ou }, keyAlgorithm: "ECDSA-P256", validitySeconds: 86400, renewAtFraction: 2 / 3 },
      files: { dir: out, bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: process.getuid!(), gid: process.getgid!() },
    });
    server.publish(base("bench-0", server.clientCa.pem));
    const args = [`--controller-url=${server.url}`, `--controller-ca=${join(work, "controller-ca.crt")}`, `--token-file=${join(work, "token")}`, "--role=elasticsearch", `--dir=${out}`, "--health-addr=127.0.0.1", `--health-port=${health}`, `--probe-url=https://127.0.0.1:${esPort}`, "--proof-interval-ms=300"];
    const cmd = rt === "bun_binary" ? [bin, ...args] : [DENO, "run", "-A", "--quiet", ...(DENO_V8_FLAGS ? [`--v8-flags=${DENO_V8_FLAGS}`] : []), join(REPO, "agent/main.ts"), ...args];
    const p = spawn(cmd, { cwd: REPO, stdout: "ignore", stderr: "ignore", env: { PATH: process.env.PATH ?? "", HOME: os.tmpdir(), DENO_NO_UPDATE_CHECK: "1" } });
    procs.push(p);
    const d = Date.now() + 20_000;
    while (Date.now() < d && !(await fetch(`http://127.0.0.1:${health}/startupz`).then((r) => r.status === 200, () => false))) await Bun.sleep(50);
    const standin = await new ElasticsearchStandin({ keyFile: join(work, "http.key"), certFile: join(work, "http.crt"), caFiles: [join(out, "client-trust-bundle.crt")], clientAuthentication: "required", port: esPort }).start();
    await Bun.sleep(3000); // past start-up: proven, reported, idle

    // Baseline: the same agent idle, over a window as long as an event's.
    const idleWindow = 2500;
    fs.writeFileSync(`/proc/${p.pid}/clear_refs`, "5");
    const i0 = cpuTicks(p.pid);
    await Bun.sleep(idleWindow);
    const idle = { rss_mib: mib(kib(p.pid, "VmRSS")), peak_mib: mib(kib(p.pid, "VmHWM")), cpu_s: (cpuTicks(p.pid) - i0) / CLK_TCK, window_ms: idleWindow };

    const renewals = [];
    for (let i = 1; i <= EVENTS; i++) renewals.push(await event(p.pid, () => certificateOf(health), () => server.publish(base(`bench-${i}`, server.clientCa.pem))));
    const writes = [];
    for (let i = 0; i < EVENTS; i++) writes.push(await event(p.pid, () => readOr(join(out, "client-trust-bundle.crt")), () => server.publish(base(`bench-${EVENTS}`, bundles[i % 2]!))));
    const rssAfter = mib(kib(p.pid, "VmRSS"));
    await standin.stop();
    p.kill(9);
    const sum = (xs: { peak_mib: number; cpu_s: number }[]) => ({ peak_mib_max: Math.max(...xs.map((x) => x.peak_mib)), cpu_s_max: +Math.max(...xs.map((x) => x.cpu_s)).toFixed(2), runs: xs });
    if (![...renewals, ...writes].every((e) => e.landed)) valid = false;
    result[rt] = { idle, renewal: sum(renewals), bundle_write: sum(writes), rss_mib_after: rssAfter };
  }
  await server.stop();
  const r = result as Record<string, { idle: { rss_mib: number; cpu_s: number }; renewal: { peak_mib_max: number; cpu_s_max: number }; bundle_write: { peak_mib_max: number; cpu_s_max: number } }>;
  const summary = {
    bench: "agent-peak",
    date: new Date().toISOString(),
    events: EVENTS,
    bundle_bytes: bundles[0]!.length,
    bundle_certificates: fillers.length,
    settle_ms: SETTLE_MS,
    deno_v8_flags: DENO_V8_FLAGS ?? null,
    ...result,
    versions: { bun: Bun.version, deno: (await new Response(spawn([DENO, "--version"], { stdout: "pipe" }).stdout).text()).split("\n")[0] },
  };
  console.log(JSON.stringify(summary, null, 2));
  const line = (rt: "bun_binary" | "deno") =>
    `${rt}: idle ${r[rt]!.idle.rss_mib} MiB; renewal peak ${r[rt]!.renewal.peak_mib_max} MiB, ${r[rt]!.renewal.cpu_s_max} CPU-s; ${(bundles[0]!.length / 1024).toFixed(0)} KiB bundle peak ${r[rt]!.bundle_write.peak_mib_max} MiB, ${r[rt]!.bundle_write.cpu_s_max} CPU-s`;
  console.log(`${line("bun_binary")} | ${line("deno")}${valid ? "" : " — INVALID: a change never reached the disk"}`);
  if (!valid) process.exitCode = 1;
} finally {
  for (const p of procs) {
    try {
      p.kill(9);
    } catch {}
  }
  fs.rmSync(work, { recursive: true, force: true });
}
process.exit(process.exitCode ?? 0);
