// The agent's /status (issue 9 item 11) is served on the pod's network without authentication:
// it must carry no key material and no token, while it does show the state an operator needs.
// Checked on the agent as shipped (Bun binary) and on Deno, after a key was made and certified,
// errors were recorded, and the token was rotated.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { agentArgs, buildBinary, intentEnv, killAll, RUNTIMES, spawnAgent } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { freePort } from "../../support/ports.ts";
import { kibanaIntent } from "../../support/intents.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

/** The base64 lines of a PEM body, long enough not to match by chance. */
const pemBodyLines = (pem: string) => pem.split("\n").filter((l) => l.length >= 16 && !l.startsWith("-----"));

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}`, () => {
    test("/status shows the pod's state but no private key, key fragment or token", async () => {
      const env = await intentEnv();
      const firstToken = env.token.value;
      env.server.publish(kibanaIntent(env));
      // No workload listens there: proofs fail and land in the status's error list.
      const agent = spawnAgent(rt, agentArgs(env, "kibana", [`--probe-url=http://127.0.0.1:${freePort()}`, "--proof-interval-ms=100", "--proof-timeout-ms=300"]));
      try {
        const keyFile = join(env.outDir, "tls.key");
        await eventually(truthy(() => fs.existsSync(keyFile)), { timeoutMs: 20_000, what: "the key on disk" });
        env.server.pushRaw("not json"); // an error entry quoting what the controller sent
        const status = await eventually(truthy(async () => {
          const s = await agent.health("/status");
          return s.status === 200 && /"what":"proof"/.test(s.text) && /"what":"intent"/.test(s.text) ? s.text : undefined;
        }), { timeoutMs: 20_000, what: "a status with proof and intent errors" });
        // Rotate the token (the kubelet does); the old and the new one must both stay out.
        env.token.value = "token-rotated-" + Math.random().toString(36).slice(2);
        fs.writeFileSync(env.tokenFile, env.token.value);
        const texts = [status, (await agent.health("/status")).text];
        const keyPem = fs.readFileSync(keyFile, "utf8");
        const certificate = JSON.parse(status).certificate as { sha256: string };
        expect(certificate.sha256).toMatch(/^[0-9a-f]{64}$/);
        for (const text of texts) {
          expect(text).not.toMatch(/PRIVATE KEY/);
          for (const line of pemBodyLines(keyPem)) expect(text).not.toContain(line);
          expect(text).not.toContain(firstToken);
          expect(text).not.toContain(env.token.value);
        }
      } finally {
        agent.kill();
        await env.server.stop();
      }
    }, 60_000);
  });
}

