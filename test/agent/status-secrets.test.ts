// The agent's /status (issue 9 item 11) is served on the pod's network without authentication:
// it must carry no key material and no token, while it does show the state an operator needs.
// Checked on the agent as shipped (Bun binary) and on Deno, after a key was made and certified,
// errors were recorded, and the token was rotated.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import type { Intent } from "../../protocol/intent.ts";
import { agentArgs, buildBinary, freePort, intentEnv, killAll, RUNTIMES, spawnAgent, waitFor, type Env } from "./harness.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

function kibanaIntent(env: Env): Omit<Intent, "generation" | "type"> {
  return {
    pod: { namespace: "ns", name: "quickstart-kb-0", uid: "pod-uid-kb" },
    role: "kibana",
    cluster: { namespace: "ns", name: "quickstart" },
    phase: "Enabled",
    enforcement: "required",
    identity: { source: "managed", subject: { commonName: "quickstart-kb-0", organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3 },
    files: { dir: env.outDir, bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: process.getuid!(), gid: process.getgid!() },
  };
}

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
        await waitFor(() => fs.existsSync(keyFile), "the key on disk", 20_000);
        env.server.pushRaw("not json"); // an error entry quoting what the controller sent
        const status = await waitFor(async () => {
          const s = await agent.health("/status");
          return s.status === 200 && /"what":"proof"/.test(s.text) && /"what":"intent"/.test(s.text) ? s.text : undefined;
        }, "a status with proof and intent errors", 20_000);
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

