// Process test of issue 13, item 2, with the agent AS SHIPPED (compiled Bun binary and
// Deno): the output directory becomes read-only while a new intent arrives. The pod
// must turn unready and say why, and once the volume is writable again the agent must
// write that newest intent, not settle for the older one it still has on disk.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { spawnSync } from "bun";
import * as fs from "node:fs";
import { join } from "node:path";
import { ElasticsearchStandin } from "../../fixtures/elasticsearch-standin.ts";
import { TestCA } from "../../support/test-ca.ts";
import { agentArgs, buildBinary, esServing, intentEnv, killAll, RUNTIMES, spawnAgent } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { esIntent } from "../../support/intents.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

/** Read-only for the agent: root ignores permission bits, so it gets the immutable attribute instead. */
function setReadOnly(dir: string, on: boolean): void {
  if (process.getuid!() === 0) {
    const r = spawnSync(["chattr", on ? "+i" : "-i", dir]);
    if (r.exitCode !== 0) throw new Error(`chattr ${on ? "+i" : "-i"} ${dir}: ${r.stderr.toString()}`);
  } else fs.chmodSync(dir, on ? 0o555 : 0o755);
}

const common = ["--proof-interval-ms=200", "--proof-timeout-ms=20000", "--reprove-interval-ms=1000"];

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}`, () => {
    test("a write that fails on a read-only volume: unready with the reason, then the newest intent lands once writable", async () => {
      const env = await intentEnv();
      const { port: esPort } = await esServing(env);
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", [...common, `--probe-url=https://127.0.0.1:${esPort}`]));
      let es: ElasticsearchStandin | undefined;
      let readOnly = false;
      try {
        env.server.publish(esIntent(env, { enforcement: "optional", identity: undefined }, env.server.clientCa.pem));
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))), { timeoutMs: 10_000, what: "first write" });
        es = await new ElasticsearchStandin({ keyFile: join(env.dir, "http.key"), certFile: join(env.dir, "http.crt"), caFiles: [join(env.outDir, "client-trust-bundle.crt")], clientAuthentication: "optional", port: esPort, reloadMs: 300 }).start();
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "ready on generation 1" });

        setReadOnly(env.outDir, true);
        readOnly = true;
        const extra = await TestCA.create("trusted while read-only");
        const bundle2 = env.server.clientCa.pem + extra.pem;
        env.server.publish(esIntent(env, { enforcement: "optional", identity: undefined }, bundle2)); // generation 2
        const unready = await eventually(truthy(async () => {
          const r = await agent.health("/readyz");
          return r.status === 503 ? r : undefined;
        }), { timeoutMs: 10_000, intervalMs: 100, what: "unready while generation 2 cannot be written" });
        expect(unready.text).toMatch(/^generation 2 is not on disk: writing .*: /);
        const st = await eventually(truthy(() => env.server.statuses.findLast((s) => !s.ready && s.errors.some((e) => e.what === "apply"))), { timeoutMs: 5000, what: "status report of the failure" });
        expect(st.generation).toBe(1);

        setReadOnly(env.outDir, false);
        readOnly = false;
        await eventually(truthy(() => fs.readFileSync(join(env.outDir, "client-trust-bundle.crt"), "utf8") === bundle2), { timeoutMs: 15_000, what: "generation 2 written once writable" });
        await eventually(truthy(async () => (await agent.health("/readyz")).status === 200), { timeoutMs: 15_000, intervalMs: 100, what: "ready on generation 2" });
        await eventually(truthy(() => env.server.statuses.findLast((s) => s.generation === 2 && s.ready)), { timeoutMs: 5000, what: "generation 2 reported ready" });
      } finally {
        if (readOnly) setReadOnly(env.outDir, false);
        agent.kill();
        await es?.stop();
        await env.server.stop();
      }
    }, 60_000);
  });
}
