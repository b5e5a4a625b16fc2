// Issue 8, item 5, on the agent as a process (Bun binary and Deno): another user's certificate
// expiring never makes this pod unready; expired bundle entries are left out (and reported), a bundle
// with nothing valid left is refused and the last good material stays.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { sha256Hex as sha } from "../../../common/digest.ts";
import { ElasticsearchStandin } from "../../fixtures/elasticsearch-standin.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";
import { agentArgs, buildBinary, esServing, intentEnv, killAll, RUNTIMES, spawnAgent } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { esIntent } from "../../support/intents.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

const common = ["--proof-interval-ms=200", "--proof-timeout-ms=20000", "--reprove-interval-ms=1000", "--user-poll-ms=300"];
const body = (pem: string) => pem.split("\n").slice(1, 3).join("\n");

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}: expiring bundle entries`, () => {
    test("a user certificate expiring in the bundle: the pod stays ready, the entry is dropped and reported; nothing valid left is refused", async () => {
      const env = await intentEnv();
      const { port: esPort } = await esServing(env);
      const bundleFile = join(env.outDir, "client-trust-bundle.crt");
      const onDisk = () => fs.readFileSync(bundleFile, "utf8");
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", [...common, `--probe-url=https://127.0.0.1:${esPort}`]));
      let es: ElasticsearchStandin | undefined;
      try {
        // 1. A user's leaf that expires a few seconds from now, next to the cluster's CA.
        const user = await issueCertificate(env.server.clientCa, { cn: "expiring-user", notAfter: new Date(Date.now() + 5000) });
        const expiresAt = user.certificate.notAfter.getTime();
        env.server.publish(esIntent(env, { enforcement: "optional" }, env.server.clientCa.pem + user.certPem));
        await eventually(truthy(() => fs.existsSync(bundleFile)), { timeoutMs: 10_000, what: "first write" });
        es = await new ElasticsearchStandin({ keyFile: join(env.dir, "http.key"), certFile: join(env.dir, "http.crt"), caFiles: [bundleFile], clientAuthentication: "optional", port: esPort, reloadMs: 300 }).start();
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "ready" });
        expect(onDisk()).toContain(body(user.certPem));
        // Ready on every poll until well after the expiry; the agent drops the entry by itself (the controller here never does).
        let dropped = false;
        while (Date.now() < expiresAt + 3000 || !dropped) {
          const r = await agent.health("/readyz");
          expect(r.status, `readyz at expiry${Date.now() - expiresAt >= 0 ? "+" : ""}${Date.now() - expiresAt} ms: ${r.text}`).toBe(200);
          dropped = !onDisk().includes(body(user.certPem));
          if (Date.now() > expiresAt + 10_000) throw new Error("the expired entry is still on disk 10 s after its notAfter");
          await Bun.sleep(200);
        }
        expect(onDisk()).toContain(body(env.server.clientCa.pem));

        // 2. An intent whose bundle already holds an expired entry: written minus that entry, reported.
        const old = await issueCertificate(env.server.clientCa, { cn: "old-user", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 3600_000) });
        const extra = await TestCA.create("user ca");
        const pem = env.server.clientCa.pem + old.certPem + extra.pem;
        const intent = env.server.publish(esIntent(env, { enforcement: "optional" }, pem));
        await eventually(truthy(() => onDisk().includes(body(extra.pem))), { timeoutMs: 10_000, what: "bundle with the new CA written" });
        expect(onDisk()).not.toContain(body(old.certPem));
        expect(onDisk()).toContain(body(env.server.clientCa.pem));
        const st = await eventually(truthy(() => env.server.statuses.findLast((s) => s.generation === intent.generation && s.errors.some((e) => e.what === "bundle" && e.detail.includes("old-user")))), { timeoutMs: 10_000, what: "drop reported" });
        // The controller still sees the current intent applied (bundleSha256 is the intent's); the disk's hash is told apart.
        expect(st.bundleSha256).toBe(sha(pem));
        expect(st.bundleOnDiskSha256).toBe(sha(onDisk()));
        expect(st.errors.find((e) => e.what === "bundle")!.detail).toMatch(new RegExp(`generation ${intent.generation}: 1 expired certificate\\(s\\) left out of the trust bundle: block 2 "CN=old-user[^"]*" expired at`));
        expect(Number(/es_mtls_agent_trust_bundle_dropped_certificates_total (\d+)/.exec((await agent.health("/metrics")).text)?.[1])).toBeGreaterThanOrEqual(2);
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "ready on the new bundle" });

        // 3. Nothing valid left: refused, the last good material stays, the pod stays ready.
        const good = onDisk();
        const refused = env.server.publish(esIntent(env, { enforcement: "optional" }, old.certPem));
        await eventually(truthy(() => env.server.statuses.findLast((s) => s.errors.some((e) => e.detail.includes(`generation ${refused.generation} refused`) && /an empty bundle is never written/.test(e.detail)))), { timeoutMs: 10_000, what: "refusal reported" });
        expect(onDisk()).toBe(good);
        expect((await agent.health("/readyz")).status).toBe(200);
      } finally {
        agent.kill();
        await es?.stop();
        await env.server.stop();
      }
    }, 60_000);
  });
}
