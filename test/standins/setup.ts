// Shared set-up for the stand-in tests: a container root with the ES config dir laid out
// as a pod would have it (certs from a Secret, a client trust bundle), the CAs and client
// identities, and a stand-in started from env exactly as the image would be configured.
import * as fs from "node:fs";
import { join } from "node:path";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import { startFromEnv, type ClientAuthentication, type ElasticsearchStandin } from "../fixtures/elasticsearch-standin.ts";
import { tlsProbe } from "../../agent/prove/tls-probe.ts";
import { tmpDir } from "../support/agent-harness.ts";
import { TestCA, type IssuedCertificate } from "../support/test-ca.ts";

export const CONFIG = "/usr/share/elasticsearch/config";
export const PASSWORD = "s3cret-elastic";

export interface EsFixture {
  root: string;
  es: ElasticsearchStandin;
  httpCa: TestCA;
  clientCa: TestCA;
  client: IssuedCertificate;
  rogue: IssuedCertificate;
  logs: Array<Record<string, unknown>>;
  /** Host path of a container path. */
  host(p: string): string;
  probe(c?: IssuedCertificate): ReturnType<typeof tlsProbe>;
  url: string;
}

const stopped: Array<{ stop(): Promise<void> }> = [];
export async function stopAll(): Promise<void> {
  for (const s of stopped.splice(0)) await s.stop().catch(() => {});
}
export function track<T extends { stop(): Promise<void> }>(s: T): T {
  stopped.push(s);
  return s;
}

export function write(file: string, text: string): void {
  fs.mkdirSync(join(file, ".."), { recursive: true });
  fs.writeFileSync(file, text);
}

/** An ES stand-in started from env, as the image with certs mounted under config/ would be. */
/** `serverDns`: the names the HTTP certificate carries (default localhost, with 127.0.0.1). */
export async function esFromEnv(mode: ClientAuthentication, env: Record<string, string> = {}, o: { serverDns?: string[] } = {}): Promise<EsFixture> {
  const root = tmpDir("es-root");
  const host = (p: string) => join(root, p);
  const httpCa = await TestCA.create("http ca");
  const clientCa = await TestCA.create("client ca");
  const server = await httpCa.issue({ cn: "es", server: o.serverDns ? { dns: o.serverDns, ips: ["127.0.0.1"] } : true });
  const client = await clientCa.issue({ cn: "client", client: true });
  const rogue = await (await TestCA.create("rogue ca")).issue({ cn: "rogue", client: true });
  write(host(`${CONFIG}/certs/tls.crt`), server.certPem);
  write(host(`${CONFIG}/certs/tls.key`), server.key);
  write(host(`${CONFIG}/certs/ca.crt`), httpCa.pem);
  write(host(`${CONFIG}/client-trust-bundle/client-trust-bundle.crt`), clientCa.pem);
  const logs: Array<Record<string, unknown>> = [];
  const es = track(
    await startFromEnv(
      {
        STANDIN_ROOT: root,
        "xpack.security.http.ssl.key": "certs/tls.key",
        "xpack.security.http.ssl.certificate": "certs/tls.crt",
        // A comma list, the second one absolute: both as the image splits and resolves them.
        "xpack.security.http.ssl.certificate_authorities": `certs/ca.crt,${CONFIG}/client-trust-bundle/client-trust-bundle.crt`,
        "xpack.security.http.ssl.client_authentication": mode,
        "network.host": "127.0.0.1",
        "http.port": "0",
        "transport.port": "0",
        ELASTIC_PASSWORD: PASSWORD,
        ...env,
      },
      (l) => logs.push(l),
    ),
  );
  const probe = (c?: IssuedCertificate) => tlsProbe({ host: "127.0.0.1", port: es.port, ca: httpCa.pem, timeoutMs: 3000, ...(c ? { cert: c.certPem, key: c.key } : {}) });
  return { root, es, httpCa, clientCa, client, rogue, logs, host, probe, url: `https://127.0.0.1:${es.port}` };
}

/** The official client as a user configures it: the HTTP CA, a client certificate, basic auth. HttpConnection: undici's default fails on Bun. */
export function officialClient(url: string, o: { ca: string; cert?: IssuedCertificate; password?: string; username?: string }): Client {
  return new Client({
    node: url,
    Connection: HttpConnection,
    tls: { ca: o.ca, ...(o.cert ? { cert: o.cert.certPem, key: o.cert.key } : {}) },
    ...(o.password !== undefined ? { auth: { username: o.username ?? "elastic", password: o.password } } : {}),
    maxRetries: 0,
    requestTimeout: 5000,
  });
}

/** A request with fetch (Bun's tls options) for checking headers and bodies directly. */
export async function get(url: string, o: { ca: string; cert?: IssuedCertificate; auth?: string }): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url, { headers: o.auth ? { authorization: `Basic ${btoa(o.auth)}` } : {}, tls: { ca: o.ca, ...(o.cert ? { cert: o.cert.certPem, key: o.cert.key } : {}) } } as RequestInit);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}
