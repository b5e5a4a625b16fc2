// Crash safety of the shipped agent: while the fixture server pushes a new intent every
// few ms (new subject → new key, CSR and write each time; alternating bundles), agents
// on both runtimes are killed with SIGKILL at random moments, ≥ 100 times each. After
// every kill the directory must hold a consistent set (or nothing): every link
// resolves, the key matches the certificate, the bundle is non-empty and parses; a
// restart then recovers (leftovers removed, one version dir).
import { afterAll, beforeAll, expect, test } from "bun:test";
import * as fs from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { TestCA } from "../../support/test-ca.ts";
import { agentArgs, buildBinary, intentEnv, killAll, RUNTIMES, sleep, spawnAgent, type AgentRuntime, type Env } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { esIntent } from "../../support/intents.ts";

const KILLS_PER_RUNTIME = Number(process.env.CRASH_KILLS ?? 110);

/** Throws a descriptive error when the published state is torn. Returns false when nothing is published yet. */
function verify(dir: string): boolean {
  if (!fs.existsSync(dir)) return false;
  const entries = fs.readdirSync(dir);
  for (const e of entries) {
    const p = join(dir, e);
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink() && !fs.existsSync(p)) throw new Error(`dangling link ${e} -> ${fs.readlinkSync(p)}`);
  }
  if (!entries.includes("..data")) {
    for (const n of ["tls.crt", "tls.key", "client-trust-bundle.crt"]) if (entries.includes(n)) throw new Error(`${n} visible without ..data`);
    return false;
  }
  const visible = ["client-trust-bundle.crt", "tls.crt", "tls.key"].filter((n) => entries.includes(n));
  // The user links are created right after the first ..data swap; before that none may be visible.
  const read = (n: string) => fs.readFileSync(join(dir, "..data", n), "utf8");
  const inData = fs.readdirSync(join(dir, "..data"));
  // A bundle-only set is legitimate (first issuance still pending); a cert without its key is not.
  if (inData.includes("tls.crt") !== inData.includes("tls.key")) throw new Error(`torn set: ..data holds ${inData.join(", ")}`);
  if (!inData.includes("client-trust-bundle.crt")) throw new Error(`no bundle in ..data (${inData.join(", ")})`);
  for (const n of inData) if (read(n).length === 0) throw new Error(`${n} is empty`);
  if (inData.includes("tls.crt")) {
    const cert = new X509Certificate(read("tls.crt"));
    if (!cert.checkPrivateKey(createPrivateKey(read("tls.key")))) throw new Error(`torn pair: tls.key does not match tls.crt (${cert.subject})`);
  }
  if (!read("client-trust-bundle.crt").includes("-----BEGIN CERTIFICATE-----")) throw new Error("bundle has no certificate");
  for (const n of visible) if (fs.readFileSync(join(dir, n), "utf8") !== read(n)) throw new Error(`${n} differs from ..data/${n}`);
  return true;
}

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

async function crashLoop(rt: AgentRuntime, env: Env): Promise<{ kills: number; midWrite: number; recovered: number; published: number }> {
  const args = agentArgs(env, "elasticsearch", ["--proof-timeout-ms=100000", "--log-level=info", "--backoff-min-ms=20"]);
  let kills = 0, midWrite = 0, recovered = 0, published = 0;
  // The kill window follows how long an apply takes here: it widens after a process killed before its
  // first write and narrows after one that wrote, so a busy machine (an apply over 200 ms) still sees
  // kills after writes as well as during them.
  let windowMs = 200;
  for (let i = 0; i < KILLS_PER_RUNTIME; i++) {
    const a = spawnAgent(rt, args);
    // Wait until this process is applying intents, then kill it at a random moment.
    await a.waitLog((l) => l.msg === "intent received", 20_000);
    if (a.logs.some((l) => l.msg === "recovered from an interrupted write")) recovered++;
    await sleep(Math.random() * windowMs);
    const writes = a.logs.filter((l) => l.msg === "material written").length;
    windowMs = writes > 0 ? Math.max(200, windowMs * 0.8) : Math.min(1000, windowMs * 1.25);
    const received = a.logs.filter((l) => l.msg === "intent received").length;
    a.kill(9);
    await a.exited;
    kills++;
    if (received > writes) midWrite++; // an intent was being applied (key, CSR or write in progress)
    if (verify(env.outDir)) published++;
  }
  return { kills, midWrite, recovered, published };
}

test(`≥ 200 kill -9 during writes (${RUNTIMES.join(" + ")}) never leave a torn set; restart recovers`, async () => {
  const envs = await Promise.all(RUNTIMES.map(() => intentEnv({ heartbeatMs: 1000 })));
  const extra = await TestCA.create("alternate");
  let n = 0;
  const ident = (cn: string) => ({ source: "managed" as const, subject: { commonName: cn, organizationalUnit: "crash" }, keyAlgorithm: "ECDSA-P256" as const, validitySeconds: 3600, renewAtFraction: 2 / 3 });
  const publish = (env: Env) => {
    n++;
    const pem = n % 2 ? env.server.clientCa.pem : env.server.clientCa.pem + extra.pem;
    env.server.publish(esIntent(env, { identity: ident(`pod-${n}`) }, pem));
  };
  envs.forEach(publish);
  const pump = setInterval(() => envs.forEach(publish), 15);
  try {
    const results = await Promise.all(RUNTIMES.map((rt, i) => crashLoop(rt, envs[i]!)));
    clearInterval(pump);
    console.log(JSON.stringify(Object.fromEntries(RUNTIMES.map((rt, i) => [rt, results[i]]))));
    const total = results.reduce((s, r) => s + r.kills, 0);
    expect(total).toBeGreaterThanOrEqual(200);
    for (const r of results) {
      expect(r.published).toBeGreaterThan(r.kills / 2); // writes really happened between kills
      expect(r.midWrite).toBeGreaterThan(r.kills / 2); // most kills hit an apply in progress
    }
    // Restart: the agent repairs leftovers and converges on the latest intent.
    for (const [i, rt] of RUNTIMES.entries()) {
      const env = envs[i]!;
      const a = spawnAgent(rt, agentArgs(env, "elasticsearch", ["--proof-timeout-ms=100000"]));
      try {
        const gen = env.server.intent!.generation;
        // An ES pod's set is the bundle alone: the latest may already be on disk (then nothing is written).
        await a.waitLog((l) => l.msg === "intent received" && l.generation === gen, 20_000);
        await eventually(truthy(() => fs.readFileSync(join(env.outDir, "client-trust-bundle.crt"), "utf8") === env.server.intent!.trustBundle!.pem), { timeoutMs: 20_000, what: "the latest bundle on disk" });
        expect(verify(env.outDir)).toBe(true);
        const entries = fs.readdirSync(env.outDir);
        expect(entries.filter((e) => e.startsWith("..2")).length).toBe(1);
        expect(entries.filter((e) => e.endsWith("tmp"))).toEqual([]);
        // An ES pod's identity is kept in the agent's memory (issue 9 finding 11): never on the volume.
        expect(fs.readdirSync(env.outDir, { recursive: true }).map(String).filter((f) => /tls\.(crt|key)$/.test(f))).toEqual([]);
        await eventually(truthy(async () => (await a.health("/startupz")).status === 200), { timeoutMs: 5000, what: "startupz" });
      } finally {
        a.kill(9);
      }
    }
  } finally {
    clearInterval(pump);
    await Promise.all(envs.map((e) => e.server.stop()));
  }
}, 240_000);
