// The Kibana stand-in against the behaviour notes §7–§10: configured from env as the image
// maps it, reads its ES client certificate once, presents it, and reports itself
// unavailable (HTTP 503) when Elasticsearch refuses it or cannot be reached.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { KibanaStandin } from "../fixtures/kibana-standin.ts";
import { kibanaOptionsFromEnv } from "../fixtures/kibana-standin/settings.ts";
import { killAll, tmpDir } from "../support/agent-harness.ts";
import { eventually, truthy } from "../support/eventually.ts";
import { TestCA, type IssuedCertificate } from "../support/test-ca.ts";
import { CONFIG, esFromEnv, stopAll, track, write, type EsFixture } from "./setup.ts";

afterAll(async () => {
  await stopAll();
  killAll();
});

const KB_CERTS = "/usr/share/kibana/config/elasticsearch-client-certs";

/** A Kibana container root with its client identity and the ES HTTP CA, started from env. */
async function kibana(f: EsFixture, id: IssuedCertificate, env: Record<string, string> = {}) {
  const root = tmpDir("kb-root");
  write(join(root, KB_CERTS, "tls.crt"), id.certPem);
  write(join(root, KB_CERTS, "tls.key"), id.key);
  write(join(root, "/usr/share/kibana/config/certs/ca.crt"), f.httpCa.pem);
  const o = kibanaOptionsFromEnv({
    root,
    env: {
      ELASTICSEARCH_HOSTS: JSON.stringify([f.url]),
      ELASTICSEARCH_USERNAME: "kibana_system",
      ELASTICSEARCH_PASSWORD: "kb-pw",
      ELASTICSEARCH_SSL_CERTIFICATE: `${KB_CERTS}/tls.crt`,
      ELASTICSEARCH_SSL_KEY: `${KB_CERTS}/tls.key`,
      ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES: "config/certs/ca.crt", // relative to /usr/share/kibana
      ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE: "true",
      ELASTICSEARCH_SSL_VERIFICATIONMODE: "certificate",
      SERVER_HOST: "127.0.0.1",
      SERVER_PORT: "0",
      ELASTICSEARCH_HEALTHCHECK_DELAY: "200",
      ...env,
    },
  });
  const kb = track(await new KibanaStandin(o).start());
  const status = async (auth?: string) => {
    const r = await fetch(`http://127.0.0.1:${kb.port}/api/status`, { headers: auth ? { authorization: `Basic ${btoa(auth)}` } : {} });
    return { code: r.status, body: (await r.json()) as { status: { overall: { level: string } }; metrics?: { process: { uptime_in_millis: number } } } };
  };
  return { root, kb, status };
}

async function esWithKibanaUser(mode: "required" | "optional" = "required") {
  const f = await esFromEnv(mode);
  write(f.host(`${CONFIG}/users`), `kibana_system:${await Bun.password.hash("kb-pw", { algorithm: "bcrypt", cost: 4 })}\nalice:${await Bun.password.hash("alice-pw", { algorithm: "bcrypt", cost: 4 })}\n`);
  return f;
}

describe("kibana stand-in", () => {
  test("env as the image maps it: JSON-parsed values, relative paths under /usr/share/kibana, the elastic user forbidden", () => {
    const o = kibanaOptionsFromEnv({ root: "/r", bindAll: "127.9.9.9", env: { ELASTICSEARCH_HOSTS: '["https://a:9200","https://b:9200"]', ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES: "/etc/ca.crt", ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE: "true", ELASTICSEARCH_SSL_CERTIFICATE: "config/c.crt", ELASTICSEARCH_SSL_KEY: "/k" } });
    expect(o).toMatchObject({ esUrls: ["https://a:9200", "https://b:9200"], esCaFiles: ["/r/etc/ca.crt"], certFile: "/r/usr/share/kibana/config/c.crt", keyFile: "/r/k", alwaysPresentCertificate: true, allowAnonymous: false, verificationMode: "full", host: "127.9.9.9", port: 5601 });
    expect(() => kibanaOptionsFromEnv({ env: { ELASTICSEARCH_HOSTS: "https://es:9200", ELASTICSEARCH_USERNAME: "elastic" } })).toThrow(/value of "elastic" is forbidden/);
  });

  test("available with a trusted certificate; the full status (with uptime) only for a caller ES authenticates", async () => {
    const f = await esWithKibanaUser();
    const { kb, status } = await kibana(f, f.client);
    expect(kb.esLevel).toBe("available");
    const anonymous = await status();
    expect(anonymous).toEqual({ code: 200, body: { status: { overall: { level: "available" } } } });
    const alice = await status("alice:alice-pw");
    expect(alice.code).toBe(200);
    expect(alice.body.metrics!.process.uptime_in_millis).toBeGreaterThanOrEqual(0);
    expect((await status("alice:wrong")).code).toBe(401);
    // status.allowAnonymous: the agent's proof reads the uptime without credentials.
    const open = await kibana(f, f.client, { STATUS_ALLOWANONYMOUS: "true" });
    expect((await open.status()).body.metrics!.process.uptime_in_millis).toBeGreaterThanOrEqual(0);
  });

  test("503 critical when ES refuses its certificate, when its password is wrong, and when ES is unreachable", async () => {
    const f = await esWithKibanaUser();
    const refused = await kibana(f, f.rogue);
    expect(await refused.status()).toEqual({ code: 503, body: { status: { overall: { level: "critical" } } } });
    expect(refused.kb.esSummary).toStartWith("Unable to retrieve version information from Elasticsearch nodes.");
    const badPassword = await kibana(f, f.client, { ELASTICSEARCH_PASSWORD: "wrong" });
    expect((await badPassword.status()).code).toBe(503);
    expect(badPassword.kb.esSummary).toContain("[401]");
    const ok = await kibana(f, f.client);
    expect((await ok.status()).code).toBe(200);
    await f.es.stop();
    await eventually(truthy(async () => (await ok.status()).code === 503), { timeoutMs: 5000, what: "503 once ES is gone" });
  });

  test("alwaysPresentCertificate false: its own polls present the certificate, end-user requests do not (refused under required)", async () => {
    const f = await esWithKibanaUser();
    const { kb, status } = await kibana(f, f.client, { ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE: "false" });
    expect(kb.esLevel).toBe("available");
    expect((await status("alice:alice-pw")).code).toBe(401);
  });

  test("keeps presenting the certificate read at start after the files change, until ES stops trusting it", async () => {
    const f = await esWithKibanaUser();
    const { root, kb, status } = await kibana(f, f.client);
    const other = await (await TestCA.create("other")).issue({ cn: "other", client: true });
    fs.writeFileSync(join(root, KB_CERTS, "tls.crt"), other.certPem);
    fs.writeFileSync(join(root, KB_CERTS, "tls.key"), other.key);
    const polls = Date.now();
    await eventually(truthy(() => Date.now() - polls > 600), { timeoutMs: 2000 }); // several polls after the change
    await kb.checkElasticsearch();
    expect(kb.esLevel).toBe("available");
    expect(kb.presentedCertificate).toBe(f.client.certPem);
    // ES now trusts only the new identity: the running Kibana (old cert) turns critical, a restarted one is available.
    fs.writeFileSync(f.host(`${CONFIG}/client-trust-bundle/client-trust-bundle.crt`), other.certPem);
    await eventually(truthy(async () => (await status()).code === 503), { timeoutMs: 9000, intervalMs: 200, what: "critical after the bundle dropped the old leaf" });
    const restarted = await kibana(f, other);
    expect((await restarted.status()).code).toBe(200);
  }, 20_000);
});
