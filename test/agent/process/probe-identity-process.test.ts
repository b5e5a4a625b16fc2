// The agent AS SHIPPED (the compiled binary, and the source under Deno) writes an Elasticsearch pod's
// local probe identity (intent.probe) next to its material: a CSR for CN es-mtls-probe, the signed
// certificate chain and key in one file, and the .curlrc naming it; a retired intent withdraws it.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { createPrivateKey, X509Certificate } from "node:crypto";
import { join } from "node:path";
import { issueCertificate } from "../../support/test-ca.ts";
import { agentArgs, buildBinary, intentEnv, killAll, RUNTIMES, spawnAgent } from "../../support/agent-harness.ts";
import { eventually, truthy } from "../../support/eventually.ts";
import { esIntent } from "../../support/intents.ts";

beforeAll(async () => {
  await buildBinary();
});
afterAll(() => killAll());

for (const rt of RUNTIMES) {
  describe(`agent on ${rt}`, () => {
    test("the probe identity and .curlrc land in the probe folder; a retired intent withdraws them", async () => {
      const env = await intentEnv();
      const probeDir = join(env.dir, "probe");
      // The fixture signs the intent's own identity; the probe identity's CSR is signed here, as the controller does.
      env.server.certificateHook = async (_req, csr) => {
        if (csr.subject !== "CN=es-mtls-probe, OU=quickstart") return undefined;
        const leaf = await issueCertificate(env.server.clientCa, { cn: "es-mtls-probe", ou: "quickstart", publicKey: await csr.publicKey.export() });
        return { certificate: leaf.certPem, chain: env.server.clientCa.pem, notBefore: leaf.certificate.notBefore.toISOString(), notAfter: leaf.certificate.notAfter.toISOString() };
      };
      const probe = { identity: { source: "managed" as const, subject: { commonName: "es-mtls-probe", organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256" as const, validitySeconds: 3600, renewAtFraction: 2 / 3 }, dir: probeDir, file: "probe.pem" };
      env.server.publish(esIntent(env, { probe }));
      const agent = spawnAgent(rt, agentArgs(env, "elasticsearch", ["--proof-interval-ms=200", "--proof-timeout-ms=500"]));
      try {
        const pem: string = await eventually(truthy(() => (fs.existsSync(join(probeDir, "probe.pem")) ? fs.readFileSync(join(probeDir, "probe.pem"), "utf8") : undefined)), { timeoutMs: 30_000, what: "probe.pem" });
        const cert = new X509Certificate(pem);
        expect(cert.subject).toBe("CN=es-mtls-probe\nOU=quickstart");
        expect(cert.checkPrivateKey(createPrivateKey(pem))).toBe(true);
        expect(fs.readlinkSync(join(probeDir, ".curlrc"))).toBe("..data/curlrc");
        expect(fs.readFileSync(join(probeDir, ".curlrc"), "utf8")).toContain(`cert = "${probeDir}/probe.pem"`);
        expect(fs.statSync(join(probeDir, "probe.pem")).mode & 0o777).toBe(0o440);
        // The pod's material is where it always was, untouched by the probe folder.
        expect(fs.existsSync(join(env.outDir, "client-trust-bundle.crt"))).toBe(true);

        const { probe: _dropped, identity: _none, ...retired } = esIntent(env, { phase: "Disabled", enforcement: "none" });
        env.server.publish(retired);
        await eventually(truthy(() => !fs.existsSync(join(probeDir, "probe.pem"))), { timeoutMs: 30_000, what: "probe.pem withdrawn" });
        expect(fs.readFileSync(join(probeDir, ".curlrc"), "utf8")).not.toContain("cert =");
      } finally {
        agent.kill();
        await agent.exited;
        await env.server.stop();
      }
    }, 60_000);
  });
}
