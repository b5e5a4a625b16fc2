// The controller CA file is the agent's only trust root (issue 9 item 10). The controller here
// is served by a CA that is NOT the configured one but IS in a store the runtime trusts by
// default: Deno adds DENO_CERT's file to its roots, Bun adds NODE_EXTRA_CA_CERTS's. The agent
// must refuse it; with the configured CA being the serving one it connects (the control).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { agentArgs, buildBinary, intentEnv, killAll, RUNTIMES, spawnAgent, type AgentRuntime } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { TestCA } from "../../support/test-ca.ts";
import { esIntent } from "../../support/intents.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

/** The runtime's own way to add a CA file to its default trust store. */
const EXTRA_STORE_VARIABLE: Record<AgentRuntime, string> = { deno: "DENO_CERT", "bun-binary": "NODE_EXTRA_CA_CERTS" };

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}`, () => {
    test(`a controller certified by a CA in the runtime's default store (${EXTRA_STORE_VARIABLE[rt]}) but not the configured one is refused`, async () => {
      const env = await intentEnv();
      env.server.publish(esIntent(env, { identity: undefined }));
      const configured = await TestCA.create("configured-controller-ca");
      const configuredFile = join(env.dir, "configured-ca.crt");
      fs.writeFileSync(configuredFile, configured.pem);
      const extraStore = join(env.dir, "extra-store.crt");
      fs.writeFileSync(extraStore, env.server.servingCa.pem);
      const args = agentArgs(env, "elasticsearch").map((a) => (a.startsWith("--controller-ca=") ? `--controller-ca=${configuredFile}` : a));
      const agent = spawnAgent(rt, args, { [EXTRA_STORE_VARIABLE[rt]]: extraStore });
      try {
        // Two refused attempts: the backoff ran, the refusal is not a start-up hiccup.
        const first = await agent.waitLog((l) => l.msg === "intent stream disconnected", 20_000);
        await agent.waitLog((l) => l.msg === "intent stream disconnected", 20_000, agent.logs.indexOf(first) + 1);
        expect(agent.logs.some((l) => l.msg === "intent stream connected")).toBe(false);
        expect(fs.existsSync(join(env.outDir, "..data"))).toBe(false);
      } finally {
        agent.kill();
        await env.server.stop();
      }
    }, 60_000);

    test("the control: the same setup with the serving CA configured connects and writes", async () => {
      const env = await intentEnv();
      env.server.publish(esIntent(env, { identity: undefined }));
      const extraStore = join(env.dir, "extra-store.crt");
      fs.writeFileSync(extraStore, env.server.servingCa.pem);
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch"), { [EXTRA_STORE_VARIABLE[rt]]: extraStore });
      try {
        await agent.waitLog((l) => l.msg === "intent stream connected", 20_000);
        await eventually(truthy(() => fs.existsSync(join(env.outDir, "..data"))), { timeoutMs: 20_000, what: "the bundle written" });
      } finally {
        agent.kill();
        await env.server.stop();
      }
    }, 60_000);
  });
}
