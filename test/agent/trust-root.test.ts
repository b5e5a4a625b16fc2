// The controller CA file is the agent's only trust root (issue 9 item 10). The controller here
// is served by a CA that is NOT the configured one but IS in a store the runtime trusts by
// default: Deno adds DENO_CERT's file to its roots, Bun adds NODE_EXTRA_CA_CERTS's. The agent
// must refuse it; with the configured CA being the serving one it connects (the control).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import type { Intent } from "../../protocol/intent.ts";
import { sha256Hex } from "../../common/digest.ts";
import { agentArgs, buildBinary, intentEnv, killAll, makeCa, RUNTIMES, spawnAgent, waitFor, type AgentRuntime, type Env } from "./harness.ts";

function esIntent(env: Env): Omit<Intent, "generation" | "type"> {
  const pem = env.server.clientCa.pem;
  return {
    pod: { namespace: "ns", name: "quickstart-es-default-0", uid: "pod-uid-1" },
    role: "elasticsearch",
    cluster: { namespace: "ns", name: "quickstart" },
    phase: "Enabled",
    enforcement: "required",
    trustBundle: { pem, sha256: sha256Hex(pem) },
    files: { dir: env.outDir, bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: process.getuid!(), gid: process.getgid!() },
  };
}

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
      env.server.publish(esIntent(env));
      const configured = await makeCa("configured-controller-ca");
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
      env.server.publish(esIntent(env));
      const extraStore = join(env.dir, "extra-store.crt");
      fs.writeFileSync(extraStore, env.server.servingCa.pem);
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch"), { [EXTRA_STORE_VARIABLE[rt]]: extraStore });
      try {
        await agent.waitLog((l) => l.msg === "intent stream connected", 20_000);
        await waitFor(() => fs.existsSync(join(env.outDir, "..data")), "the bundle written", 20_000);
      } finally {
        agent.kill();
        await env.server.stop();
      }
    }, 60_000);
  });
}
