// The ES and Kibana stand-ins (test fixtures) reproduce the documented behaviour the
// agent's proof relies on; if they drifted, the process tests would prove nothing.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { ElasticsearchStandin, type ClientAuthentication } from "../fixtures/elasticsearch-standin.ts";
import { KibanaStandin } from "../fixtures/kibana-standin.ts";
import { tlsProbe } from "../../agent/prove/tls-probe.ts";
import { killAll, tmpDir } from "../support/agent-harness.ts";
import { TestCA } from "../support/test-ca.ts";
import { eventually, truthy } from "../support/eventually.ts";

const started: Array<{ stop(): Promise<void> }> = [];
afterAll(async () => {
  for (const s of started) await s.stop().catch(() => {});
  killAll();
});

async function setup(mode: ClientAuthentication, reloadMs = 100) {
  const d = tmpDir("es");
  const httpCa = await TestCA.create("http ca");
  const clientCa = await TestCA.create("client ca");
  const rogueCa = await TestCA.create("rogue ca");
  const server = await httpCa.issue({ cn: "es", server: true });
  const client = await clientCa.issue({ cn: "client" });
  const rogue = await rogueCa.issue({ cn: "rogue" });
  fs.writeFileSync(join(d, "http.crt"), server.certPem);
  fs.writeFileSync(join(d, "http.key"), server.keyPem!);
  fs.writeFileSync(join(d, "http-ca.crt"), httpCa.pem);
  fs.writeFileSync(join(d, "trust.crt"), "some text ES ignores\n" + clientCa.pem);
  const logs: Array<Record<string, unknown>> = [];
  const es = await new ElasticsearchStandin({ keyFile: join(d, "http.key"), certFile: join(d, "http.crt"), caFiles: [join(d, "http-ca.crt"), join(d, "trust.crt")], clientAuthentication: mode, reloadMs, log: (l) => logs.push(l) }).start();
  started.push(es);
  const probe = (c?: { certPem: string; keyPem?: string }) => tlsProbe({ host: "127.0.0.1", port: es.port, ca: httpCa.pem, timeoutMs: 3000, ...(c ? { cert: c.certPem, key: c.keyPem! } : {}) });
  return { d, es, probe, client, rogue, clientCa, rogueCa, httpCa, logs };
}

describe("elasticsearch stand-in", () => {
  test("required: refuses a client without a certificate, accepts a trusted one, refuses an untrusted one", async () => {
    const { probe, client, rogue } = await setup("required");
    expect((await probe()).result).toBe("refused");
    expect((await probe(client)).result).toBe("accepted");
    expect((await probe(rogue)).result).toBe("refused");
  });
  test("optional: no certificate is fine, an untrusted one is refused", async () => {
    const { probe, client, rogue } = await setup("optional");
    expect((await probe()).result).toBe("accepted");
    expect((await probe(client)).result).toBe("accepted");
    expect((await probe(rogue)).result).toBe("refused");
  });
  test("none: never asks for a certificate", async () => {
    const { probe, rogue } = await setup("none");
    expect((await probe()).result).toBe("accepted");
    expect((await probe(rogue)).result).toBe("accepted");
  });
  test("answers GET / and /_cluster/health with X-elastic-product", async () => {
    const { es, client, httpCa } = await setup("required");
    for (const [path, key] of [["/", "tagline"], ["/_cluster/health", "status"]] as const) {
      const res = await fetch(`https://127.0.0.1:${es.port}${path}`, { tls: { ca: httpCa.pem, cert: client.certPem, key: client.keyPem } } as RequestInit);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-elastic-product")).toBe("Elasticsearch");
      expect(Object.keys((await res.json()) as object)).toContain(key);
    }
  });
  test("reloads trust on a poll via a symlink swap; a bad file keeps the old context and is not retried until it changes", async () => {
    const { d, es, probe, client, rogue, rogueCa, clientCa, logs } = await setup("required");
    // Switch trust.crt to a symlink pointing at a file trusting the rogue CA as well.
    fs.writeFileSync(join(d, "trust-2.crt"), clientCa.pem + rogueCa.pem);
    fs.symlinkSync("trust-2.crt", join(d, "trust.tmp"));
    fs.renameSync(join(d, "trust.tmp"), join(d, "trust.crt"));
    await eventually(truthy(async () => (await probe(rogue)).result === "accepted"), { what: "reload to the new trust", timeoutMs: 5000, intervalMs: 50 });
    expect(logs.some((l) => String(l.message).startsWith("updated 1 ssl contexts"))).toBe(true);
    const reloads = es.reloads;
    // A private key in the CA file: reload fails, old context stays.
    fs.writeFileSync(join(d, "trust.crt"), clientCa.pem + client.keyPem!);
    await eventually(truthy(() => es.failedReloads === 1), { what: "failed reload", timeoutMs: 5000, intervalMs: 50 });
    expect(es.lastReloadError).toMatch(/CertificateException/);
    expect((await probe(rogue)).result).toBe("accepted");
    expect((await probe(client)).result).toBe("accepted");
    await Bun.sleep(400); // several polls: no retry while the file is unchanged
    expect(es.failedReloads).toBe(1);
    // An empty CA file is an error as well.
    fs.writeFileSync(join(d, "trust.crt"), "");
    await eventually(truthy(() => es.failedReloads === 2), { what: "empty file refused", timeoutMs: 5000, intervalMs: 50 });
    expect(es.lastReloadError).toMatch(/failed to parse any certificates/);
    // A good file again: reload, the rogue CA is no longer trusted.
    fs.writeFileSync(join(d, "trust.crt"), clientCa.pem);
    await eventually(truthy(() => es.reloads === reloads + 1), { what: "good reload", timeoutMs: 5000, intervalMs: 50 });
    expect((await probe(rogue)).result).toBe("refused");
    expect((await probe(client)).result).toBe("accepted");
  });
  test("an empty CA file aborts start-up", async () => {
    const { d } = await setup("none");
    fs.writeFileSync(join(d, "empty.crt"), "");
    await expect(new ElasticsearchStandin({ keyFile: join(d, "http.key"), certFile: join(d, "http.crt"), caFiles: [join(d, "empty.crt")], clientAuthentication: "required" }).start()).rejects.toThrow(/failed to parse any certificates/);
  });
});

// Java PKIX (SunJSSE) takes every certificate in certificate_authorities as a trust anchor:
// a pinned leaf is accepted even when the client also sends its intermediates, and a chain
// that reaches a trusted intermediate is accepted without its root (behaviour notes §2;
// eck-client-cert-auth.md: ES trusts the leaves "by pinning"). OpenSSL's defaults refuse both.
describe("elasticsearch stand-in: partial chains as the JVM accepts them", () => {
  async function chainSetup(mode: ClientAuthentication, trust: (p: { root: TestCA; inter: TestCA; leaf: { certPem: string } }) => string) {
    const d = tmpDir("es-chain");
    const httpCa = await TestCA.create("http ca");
    const server = await httpCa.issue({ cn: "es", server: true });
    const root = await TestCA.create("client root");
    const inter = await root.intermediate("client intermediate");
    const leaf = await inter.issue({ cn: "chained-client", client: true });
    fs.writeFileSync(join(d, "http.crt"), server.certPem);
    fs.writeFileSync(join(d, "http.key"), server.key);
    fs.writeFileSync(join(d, "http-ca.crt"), httpCa.pem);
    fs.writeFileSync(join(d, "trust.crt"), trust({ root, inter, leaf }));
    const logs: Array<Record<string, unknown>> = [];
    const es = await new ElasticsearchStandin({ keyFile: join(d, "http.key"), certFile: join(d, "http.crt"), caFiles: [join(d, "http-ca.crt"), join(d, "trust.crt")], clientAuthentication: mode, reloadMs: 60_000, log: (l) => logs.push(l) }).start();
    started.push(es);
    const probe = (certPem?: string, keyPem?: string) => tlsProbe({ host: "127.0.0.1", port: es.port, ca: httpCa.pem, timeoutMs: 3000, ...(certPem ? { cert: certPem, key: keyPem! } : {}) });
    return { probe, root, inter, leaf, logs };
  }

  test("required: a pinned leaf presented with its intermediate is accepted", async () => {
    const { probe, leaf, inter } = await chainSetup("required", ({ leaf }) => leaf.certPem);
    expect((await probe(leaf.certPem + inter.pem, leaf.keyPem)).result).toBe("accepted");
    expect((await probe(leaf.certPem, leaf.keyPem)).result).toBe("accepted");
  });

  test("required: a chain reaching a trusted intermediate is accepted without its root; to a trusted root, too", async () => {
    const viaInter = await chainSetup("required", ({ inter }) => inter.pem);
    expect((await viaInter.probe(viaInter.leaf.certPem + viaInter.inter.pem, viaInter.leaf.keyPem)).result).toBe("accepted");
    expect((await viaInter.probe(viaInter.leaf.certPem, viaInter.leaf.keyPem)).result).toBe("accepted");
    const viaRoot = await chainSetup("required", ({ root }) => root.pem);
    expect((await viaRoot.probe(viaRoot.leaf.certPem + viaRoot.inter.pem, viaRoot.leaf.keyPem)).result).toBe("accepted");
  });

  test("required: still refuses a missing certificate, an untrusted chain, and a leaf whose intermediate is not sent", async () => {
    const { probe, leaf, inter, logs } = await chainSetup("required", ({ root }) => root.pem);
    expect((await probe()).result).toBe("refused");
    expect(logs.some((l) => String(l.error).includes("Empty client certificate chain"))).toBe(true);
    // Only the root is trusted and the intermediate is missing: no path.
    expect((await probe(leaf.certPem, leaf.keyPem)).result).toBe("refused");
    const rogueRoot = await TestCA.create("rogue root");
    const rogueInter = await rogueRoot.intermediate("client intermediate"); // same name, other key
    const rogue = await rogueInter.issue({ cn: "chained-client", client: true });
    expect((await probe(rogue.certPem + rogueInter.pem, rogue.keyPem)).result).toBe("refused");
    // A forged chain: the rogue leaf sent with the real intermediate (signature does not verify).
    expect((await probe(rogue.certPem + inter.pem, rogue.keyPem)).result).toBe("refused");
    expect(logs.some((l) => String(l.message).startsWith("failed to establish trust with client"))).toBe(true);
  });

  test("optional: no certificate is fine, a pinned leaf with its chain is accepted, an untrusted one refused", async () => {
    const { probe, leaf, inter } = await chainSetup("optional", ({ leaf }) => leaf.certPem);
    expect((await probe()).result).toBe("accepted");
    expect((await probe(leaf.certPem + inter.pem, leaf.keyPem)).result).toBe("accepted");
    const other = await (await TestCA.create("other")).issue({ cn: "other", client: true });
    expect((await probe(other.certPem, other.keyPem)).result).toBe("refused");
  });
});

describe("kibana stand-in", () => {
  test("reads its client certificate only at start", async () => {
    const { d, es, client, clientCa, httpCa } = await setup("required");
    const kd = tmpDir("kb");
    fs.writeFileSync(join(kd, "tls.crt"), client.certPem);
    fs.writeFileSync(join(kd, "tls.key"), client.keyPem!);
    fs.writeFileSync(join(kd, "ca.crt"), httpCa.pem);
    const kb = await new KibanaStandin({ esUrl: `https://127.0.0.1:${es.port}`, certFile: join(kd, "tls.crt"), keyFile: join(kd, "tls.key"), esCaFile: join(kd, "ca.crt") }).start();
    started.push(kb);
    expect(kb.esLevel).toBe("available");
    const st = (await (await fetch(`http://127.0.0.1:${kb.port}/api/status`)).json()) as { metrics: { process: { uptime_in_millis: number } } };
    expect(st.metrics.process.uptime_in_millis).toBeGreaterThanOrEqual(0);
    // Replace the files with an untrusted identity: the running stand-in keeps presenting the old one.
    const other = await (await TestCA.create("x")).issue({ cn: "x" });
    fs.writeFileSync(join(kd, "tls.crt"), other.certPem);
    fs.writeFileSync(join(kd, "tls.key"), other.keyPem!);
    await kb.checkElasticsearch();
    expect(kb.esLevel).toBe("available");
    expect(kb.presentedCertificate).toBe(client.certPem);
    // A restart (new instance) reads the new, untrusted files and ES refuses it: /api/status turns 503.
    const kb2 = await new KibanaStandin({ esUrl: `https://127.0.0.1:${es.port}`, certFile: join(kd, "tls.crt"), keyFile: join(kd, "tls.key"), esCaFile: join(kd, "ca.crt") }).start();
    started.push(kb2);
    expect(kb2.esLevel).toBe("critical");
    expect((await fetch(`http://127.0.0.1:${kb2.port}/api/status`)).status).toBe(503);
    void d;
    void clientCa;
  });
});
