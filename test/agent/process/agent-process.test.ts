// Process tests: the agent AS SHIPPED (the `bun build --compile` binary, and the
// source under `deno run`) against the fixture intent server and the ES/Kibana stand-ins.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { join } from "node:path";
import type { Intent } from "../../../protocol/intent.ts";
import { ElasticsearchStandin } from "../../fixtures/elasticsearch-standin.ts";
import { KibanaStandin } from "../../fixtures/kibana-standin.ts";
import { TestCA, issueCertificate, privateKeyPem } from "../../support/test-ca.ts";
import { agentArgs, buildBinary, esServing, intentEnv, killAll, RUNTIMES, sleep, spawnAgent, tmpDir } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { freePort } from "../../support/ports.ts";
import { sha256Hex as sha } from "../../../common/digest.ts";
import { esIntent } from "../../support/intents.ts";

/** Asserts the published set is consistent: links resolve, key matches cert, bundle non-empty. The default is an ES pod's set: the bundle only. */
function checkPublished(dir: string, names = ["client-trust-bundle.crt"]): void {
  const data = fs.readlinkSync(join(dir, "..data"));
  expect(fs.statSync(join(dir, data)).isDirectory()).toBe(true);
  for (const n of names) {
    expect(fs.readlinkSync(join(dir, n))).toBe(`..data/${n}`);
    expect(fs.statSync(join(dir, n)).size).toBeGreaterThan(0);
  }
  if (names.includes("tls.crt")) {
    const cert = new X509Certificate(fs.readFileSync(join(dir, "tls.crt")));
    const key = createPrivateKey(fs.readFileSync(join(dir, "tls.key")));
    expect(cert.checkPrivateKey(key)).toBe(true);
  }
  if (names.includes("client-trust-bundle.crt")) expect(fs.readFileSync(join(dir, "client-trust-bundle.crt"), "utf8")).toContain("BEGIN CERTIFICATE");
}

/** No certificate or key file anywhere in an ES pod's volume (the published set and every version folder). */
export function expectNoIdentityOnDisk(dir: string): void {
  const files = fs.readdirSync(dir, { recursive: true }).map(String);
  expect(files.filter((f) => /tls\.(crt|key)$/.test(f))).toEqual([]);
  for (const f of files) {
    const p = join(dir, f);
    if (fs.statSync(p).isFile()) expect(fs.readFileSync(p, "utf8")).not.toContain("PRIVATE KEY");
  }
}

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

const common = ["--proof-interval-ms=200", "--proof-timeout-ms=20000", "--reprove-interval-ms=1000", "--user-poll-ms=300"];

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}`, () => {
    test("--once (classic layout's init container) writes a complete set, then exits 0", async () => {
      const env = await intentEnv();
      env.server.publish(esIntent(env));
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", [...common, "--once"]));
      expect(await Promise.race([agent.exited, sleep(20_000).then(() => "timeout")])).toBe(0);
      checkPublished(env.outDir);
      expectNoIdentityOnDisk(env.outDir);
      await env.server.stop();
    });

    test("intent lands on disk with modes in < 1 s; readyz false until the ES stand-in proves it; required enforced", async () => {
      const env = await intentEnv();
      const { port: esPort } = await esServing(env);
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", [...common, `--probe-url=https://127.0.0.1:${esPort}`, `--probe-ca=${join(env.dir, "http-ca.crt")}`]));
      let es: ElasticsearchStandin | undefined;
      try {
        await agent.waitLog((l) => l.msg === "intent stream connected", 15_000);
        expect((await agent.health("/readyz")).status).toBe(503);
        expect((await agent.health("/startupz")).status).toBe(503);

        const t0 = performance.now();
        env.server.publish(esIntent(env));
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))), { timeoutMs: 5000, intervalMs: 5, what: "first write" });
        const firstMs = performance.now() - t0;
        expect(firstMs).toBeLessThan(1000);
        checkPublished(env.outDir);
        expect(fs.statSync(join(env.outDir, "client-trust-bundle.crt")).mode & 0o777).toBe(0o440);
        // The pod's proof identity (issue 9 finding 11): obtained, but kept in the agent's memory only.
        await eventually(truthy(() => env.server.certificateRequests.length > 0), { timeoutMs: 5000, what: "the proof identity requested" });
        expectNoIdentityOnDisk(env.outDir);
        expect((await agent.health("/startupz")).status).toBe(200);
        // No workload yet: not ready.
        expect((await agent.health("/readyz")).status).toBe(503);

        es = await new ElasticsearchStandin({ keyFile: join(env.dir, "http.key"), certFile: join(env.dir, "http.crt"), caFiles: [join(env.dir, "http-ca.crt"), join(env.outDir, "client-trust-bundle.crt")], clientAuthentication: "required", port: esPort, reloadMs: 300 }).start();
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "readyz after proof" });
        const st = await eventually(truthy(() => env.server.statuses.findLast((s) => s.proof && s.ready)), { timeoutMs: 5000, what: "status report with proof" });
        // Presented from memory: the handshake with the pod's certificate is accepted.
        expect(st.proof!.withCertificate).toBe("accepted");
        expect(st.proof!.withoutCertificate).toBe("refused");
        expect(st.generation).toBe(1);
        expectNoIdentityOnDisk(env.outDir);
        expect(st.bundleSha256).toBe(sha(env.server.clientCa.pem));

        // A new trust bundle (an extra CA) lands in < 1 s and ES reloads it.
        const extra = await TestCA.create("extra ca");
        const bundle2 = env.server.clientCa.pem + extra.pem;
        const t1 = performance.now();
        env.server.publish(esIntent(env, {}, bundle2));
        await eventually(truthy(() => fs.readFileSync(join(env.outDir, "client-trust-bundle.crt"), "utf8") === bundle2), { timeoutMs: 5000, intervalMs: 5, what: "second write" });
        expect(performance.now() - t1).toBeLessThan(1000);
        checkPublished(env.outDir);
        // The old version is removed right after the swap.
        await eventually(truthy(() => fs.readdirSync(env.outDir).filter((e) => e.startsWith("..2")).length === 1), { timeoutMs: 1000, intervalMs: 5, what: "old version removed" });
        await eventually(truthy(() => es!.trusted.length === 3), { timeoutMs: 5000, what: "ES stand-in reload" });
        await eventually(truthy(() => env.server.statuses.findLast((s) => s.generation === 2 && s.proof && s.ready)), { timeoutMs: 10_000, what: "proof of generation 2" });

        const metrics = (await agent.health("/metrics")).text;
        expect(metrics).toMatch(/es_mtls_agent_certificate_expiration_timestamp_seconds \d+/);
        expect(metrics).toMatch(/es_mtls_agent_writes_total\{result="written"\} [2-9]/);
        expect(metrics).toMatch(/es_mtls_agent_proofs_total\{result="success"\} [1-9]/);
        const status = JSON.parse((await agent.health("/status")).text);
        expect(status.generation).toBe(2);
        expect(status.enforcement).toBe("required");
        // Never log key material.
        expect(agent.raw.join("\n")).not.toContain("PRIVATE KEY");

        agent.kill("SIGTERM");
        expect(await agent.exited).toBe(0);
      } finally {
        agent.kill();
        await es?.stop();
        await env.server.stop();
      }
    }, 60_000);

    test("bad intents are refused with a clear error and the last good material stays", async () => {
      const env = await intentEnv();
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", common));
      try {
        env.server.publish(esIntent(env));
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))), { timeoutMs: 10_000, what: "first write" });
        const snapshot = () => ["client-trust-bundle.crt"].map((n) => fs.readFileSync(join(env.outDir, n), "utf8")).join("|");
        const good = snapshot();
        const expired = await issueCertificate(env.server.clientCa, { cn: "old", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
        const keyPem = await privateKeyPem(((await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign"])) as CryptoKeyPair).privateKey);
        const cases: Array<[string, string, RegExp]> = [
          ["garbage", "not a pem at all", /unexpected text outside PEM blocks|no PEM blocks/],
          ["key in bundle", env.server.clientCa.pem + keyPem, /block 2: is a "PRIVATE KEY" block, only CERTIFICATE is allowed/],
          ["only expired entries", expired.certPem, /all 1 certificate\(s\) have expired \(the last at .*\); an empty bundle is never written/],
          ["oversized", env.server.clientCa.pem + "\n".repeat(1024 * 1024 + 10), /intent line longer than 1048576 bytes refused/],
          ["empty", "", /empty/],
        ];
        let from = agent.logs.length;
        for (const [name, pem, re] of cases) {
          env.server.publish(esIntent(env, {}, pem));
          const line = await agent.waitLog((l) => l.level === "error" && typeof l.detail === "string" && /refused/.test(l.detail as string), 10_000, from);
          from = agent.logs.length;
          expect(line.detail as string, name).toMatch(re);
          // An oversized line is dropped unparsed, so it cannot name its generation.
          if (name !== "oversized") expect(line.detail as string).toContain(`generation ${env.server.intent!.generation} refused`);
          expect(snapshot(), name).toBe(good);
        }
        // A CSR answer certifying another key is refused; the old identity stays.
        env.server.certificateHook = async () => {
          const other = await issueCertificate(env.server.clientCa, { cn: "quickstart-es-default-0", ou: "renamed" });
          return { certificate: other.certPem, chain: "", notBefore: other.certificate.notBefore.toISOString(), notAfter: other.certificate.notAfter.toISOString() };
        };
        env.server.publish(esIntent(env, { identity: { source: "managed", subject: { commonName: "quickstart-es-default-0", organizationalUnit: "renamed" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3 } }));
        const line = await agent.waitLog((l) => l.level === "error" && /does not match the public key/.test(String(l.detail)), 10_000, from);
        expect(line.detail as string).toContain("certificate from the controller");
        expect(snapshot()).toBe(good);
        checkPublished(env.outDir);
        const st = await eventually(truthy(() => env.server.statuses.findLast((s) => s.errors.length >= 5)), { timeoutMs: 5000, what: "errors reported" });
        expect(st.errors[0]!.detail.length).toBeGreaterThan(10);
      } finally {
        agent.kill();
        await env.server.stop();
      }
    }, 60_000);

    test("controller outage: agent stays ready on its material, reconnects with ?after= and catches up", async () => {
      const env = await intentEnv();
      const { port: esPort } = await esServing(env);
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", [...common, `--probe-url=https://127.0.0.1:${esPort}`]));
      let es: ElasticsearchStandin | undefined;
      try {
        env.server.publish(esIntent(env, { enforcement: "optional" }));
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))), { timeoutMs: 10_000, what: "first write" });
        es = await new ElasticsearchStandin({ keyFile: join(env.dir, "http.key"), certFile: join(env.dir, "http.crt"), caFiles: [join(env.outDir, "client-trust-bundle.crt")], clientAuthentication: "optional", port: esPort, reloadMs: 300 }).start();
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "ready" });
        const streamsBefore = env.server.streamRequests.length;
        await env.server.stop();
        // The token rotates while the controller is away: the agent must re-read it.
        env.token.value = "rotated-" + Math.random().toString(36).slice(2);
        fs.writeFileSync(env.tokenFile, env.token.value);
        for (let i = 0; i < 8; i++) {
          await sleep(500);
          expect((await agent.health("/readyz")).status).toBe(200);
          expect((await agent.health("/healthz")).status).toBe(200);
        }
        const extra = await TestCA.create("while away");
        const bundle2 = env.server.clientCa.pem + extra.pem;
        env.server.publish(esIntent(env, { enforcement: "optional" }, bundle2)); // generation 2, queued while down
        await env.server.start(); // same port
        await eventually(truthy(() => fs.readFileSync(join(env.outDir, "client-trust-bundle.crt"), "utf8") === bundle2), { timeoutMs: 15_000, what: "catch-up write" });
        expect(env.server.streamRequests.slice(streamsBefore).some((u) => u.includes("after=1"))).toBe(true);
        expect((await agent.health("/readyz")).status).toBe(200);
        expect(Number(/es_mtls_agent_stream_reconnects_total (\d+)/.exec((await agent.health("/metrics")).text)?.[1])).toBeGreaterThan(0);
      } finally {
        agent.kill();
        await es?.stop();
        await env.server.stop();
      }
    }, 60_000);

    test("readyz is false with expired material on disk", async () => {
      const env = await intentEnv();
      // Material published by an earlier run, now expired; the controller is unreachable.
      const ca = await TestCA.create("old ca");
      const leaf = await issueCertificate(ca, { cn: "x", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 60_000) });
      const { AtomicWriter } = await import("../../../agent/write/atomic-writer.ts");
      await new AtomicWriter(env.outDir).write([
        { name: "client-trust-bundle.crt", data: ca.pem },
        { name: "tls.crt", data: leaf.certPem },
        { name: "tls.key", data: leaf.keyPem! },
      ], { mode: 0o440 });
      await env.server.stop();
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", common));
      try {
        await agent.waitLog((l) => l.msg === "health server listening", 15_000);
        const r = await agent.health("/readyz");
        expect(r.status).toBe(503);
        expect((await agent.health("/healthz")).status).toBe(200);
        expect((await agent.health("/startupz")).status).toBe(200); // complete material exists
      } finally {
        agent.kill();
      }
    }, 30_000);

    test("kibana: restart required after an identity change, proven by the stand-in's uptime", async () => {
      const env = await intentEnv();
      const esCa = await TestCA.create("es http ca");
      const esLeaf = await issueCertificate(esCa, { cn: "es", server: true });
      const d = tmpDir("kb");
      fs.writeFileSync(join(d, "http.crt"), esLeaf.certPem);
      fs.writeFileSync(join(d, "http.key"), esLeaf.keyPem!);
      fs.writeFileSync(join(d, "http-ca.crt"), esCa.pem);
      fs.writeFileSync(join(d, "trust.crt"), env.server.clientCa.pem);
      const es = await new ElasticsearchStandin({ keyFile: join(d, "http.key"), certFile: join(d, "http.crt"), caFiles: [join(d, "trust.crt")], clientAuthentication: "required", reloadMs: 300 }).start();
      const kbPort = freePort();
      const agent = spawnAgent(rt, agentArgs(env, "kibana", [...common, `--probe-url=http://127.0.0.1:${kbPort}`]));
      const ident = (cn: string) => ({ source: "managed" as const, subject: { commonName: cn, organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256" as const, validitySeconds: 3600, renewAtFraction: 2 / 3 });
      const kbIntent = (cn: string): Omit<Intent, "generation" | "type"> => ({ ...esIntent(env), role: "kibana", trustBundle: undefined, identity: ident(cn) } as Omit<Intent, "generation" | "type">);
      let kb: KibanaStandin | undefined;
      try {
        env.server.publish(kbIntent("kibana-a"));
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "tls.key"))), { timeoutMs: 10_000, what: "identity written" });
        checkPublished(env.outDir, ["tls.crt", "tls.key"]);
        expect(fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))).toBe(false);
        await sleep(20);
        kb = await new KibanaStandin({ esUrl: `https://127.0.0.1:${es.port}`, certFile: join(env.outDir, "tls.crt"), keyFile: join(env.outDir, "tls.key"), esCaFile: join(d, "http-ca.crt"), port: kbPort }).start();
        expect(kb.esLevel).toBe("available"); // ES (required) accepted the agent-issued identity
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "kibana ready" });
        const before = fs.readFileSync(join(env.outDir, "tls.crt"), "utf8");
        const tChange = new Date().toISOString();
        env.server.publish(kbIntent("kibana-b"));
        await eventually(truthy(() => fs.readFileSync(join(env.outDir, "tls.crt"), "utf8") !== before), { timeoutMs: 10_000, what: "new identity" });
        const rr = await eventually(truthy(() => env.server.statuses.findLast((s) => s.generation === 2 && s.proof && s.proof.checkedAt > tChange)), { timeoutMs: 10_000, what: "proof after change" });
        expect(rr.restartRequired).toBe(true);
        expect(kb.presentedCertificate).toBe(before); // the stand-in still presents what it read at start
        await kb.stop();
        kb = await new KibanaStandin({ esUrl: `https://127.0.0.1:${es.port}`, certFile: join(env.outDir, "tls.crt"), keyFile: join(env.outDir, "tls.key"), esCaFile: join(d, "http-ca.crt"), port: kbPort }).start();
        const ok = await eventually(truthy(() => env.server.statuses.findLast((s) => s.generation === 2 && s.proof && s.restartRequired === false)), { timeoutMs: 10_000, what: "restart noticed" });
        expect(ok.proof!.withCertificate).toBe("accepted");
      } finally {
        agent.kill();
        await kb?.stop();
        await es.stop();
        await env.server.stop();
      }
    }, 60_000);
  });
}
