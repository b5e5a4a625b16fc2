// The Elasticsearch pod's local probe identity (agent/probe-identity/): the agent writes a probe
// certificate + key and a .curlrc naming them into the probe folder, and the real curl, given only
// CURL_HOME, presents that certificate to a server that requires one; a retired intent withdraws it.
import { afterAll, expect, test } from "bun:test";
import { lstatSync, readFileSync, readlinkSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import * as tls from "node:tls";
import type { Intent } from "../../../protocol/intent.ts";
import type { IdentitySource } from "../../../agent/identity/provider.ts";
import { readCertificate } from "../../../agent/material/certificate.ts";
import type { PodIdentity } from "../../../agent/material/material.ts";
import { CurlProbeIdentity } from "../../../agent/probe-identity/curl-identity.ts";
import { setLogLevel } from "../../../agent/log.ts";
import { sha256Hex } from "../../../common/digest.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";
import { tmpDir } from "../../support/agent-harness.ts";

setLogLevel("error");
const root = tmpDir("es-mtls-probe-id-");
afterAll(() => rmSync(root, { recursive: true, force: true }));

const DIR = "/usr/share/elasticsearch/config/es-mtls-probe";
const ca = await TestCA.create("client-ca");
const serverCa = await TestCA.create("http-ca");

/** Issues a leaf for the subject the intent asks for, counting requests (as the controller would sign a CSR). */
class FakeIdentity implements IdentitySource {
  issued = 0;
  async resolve(i: Intent, current: PodIdentity | undefined): Promise<PodIdentity | undefined> {
    if (i.identity?.source !== "managed") return undefined;
    if (current) return current;
    this.issued++;
    const leaf = await issueCertificate(ca, { cn: i.identity.subject.commonName, ou: i.identity.subject.organizationalUnit });
    return { certPem: leaf.certPem, keyPem: leaf.keyPem!, leaf: readCertificate(new Uint8Array(leaf.certificate.rawData)), sha256: sha256Hex(leaf.certPem), renewAt: new Date(Date.now() + 3_600_000), writtenAt: Date.now() };
  }
}

function intent(generation: number, probe: boolean): Intent {
  return {
    type: "intent",
    generation,
    pod: { namespace: "ns", name: "es-0", uid: "u" },
    role: "elasticsearch",
    cluster: { namespace: "ns", name: "es" },
    phase: probe ? "Enabled" : "Disabled",
    enforcement: probe ? "required" : "none",
    files: { dir: "/usr/share/elasticsearch/config/client-trust-bundle", bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: -1, gid: -1 },
    ...(probe ? { probe: { identity: { source: "managed", subject: { commonName: "es-mtls-probe", organizationalUnit: "es" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3 }, dir: DIR, file: "probe.pem" } } : {}),
  } as Intent;
}

/** A TLS server that requires a client certificate from `ca` and answers with the client's subject. */
async function mtlsServer(): Promise<{ port: number; close(): void }> {
  const leaf = await issueCertificate(serverCa, { cn: "es", server: true });
  const server = tls.createServer({ cert: leaf.certPem, key: leaf.keyPem, ca: ca.pem, requestCert: true, rejectUnauthorized: true }, (s) => {
    const cn = s.getPeerCertificate().subject?.CN;
    s.end(`HTTP/1.1 200 OK\r\ncontent-length: ${String(cn).length}\r\nconnection: close\r\n\r\n${cn}`);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as { port: number }).port, close: () => server.close() };
}

async function curl(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const p = Bun.spawn(["curl", ...args, "-s", "-k"], { env: { PATH: process.env.PATH ?? "/usr/bin", HOME: root, ...env }, stdout: "pipe", stderr: "pipe" });
  return { code: await p.exited, out: await new Response(p.stdout).text() };
}

test("the probe identity and a .curlrc land in the probe folder, and curl with CURL_HOME alone presents it under `required`", async () => {
  const ids = new FakeIdentity();
  const keeper = new CurlProbeIdentity(ids, { local: (p) => join(root, p), backoffMinMs: 10, backoffMaxMs: 100 });
  await keeper.apply(intent(1, true));
  const dir = join(root, DIR);
  expect(readlinkSync(join(dir, ".curlrc"))).toBe("..data/curlrc");
  expect(readFileSync(join(dir, ".curlrc"), "utf8")).toContain(`cert = "${DIR}/probe.pem"`);
  const pem = readFileSync(join(dir, "probe.pem"), "utf8");
  expect(pem).toContain("BEGIN CERTIFICATE");
  expect(pem).toContain("PRIVATE KEY"); // one file: a reader never pairs an old certificate with a new key
  expect(statSync(join(dir, "probe.pem")).mode & 0o777).toBe(0o440);
  expect(keeper.identityOnDisk?.leaf.subject).toContain("CN=es-mtls-probe");

  // The same intent again: nothing issued, nothing rewritten.
  const version = readlinkSync(join(dir, "..data"));
  await keeper.apply(intent(2, true));
  expect(ids.issued).toBe(1);
  expect(readlinkSync(join(dir, "..data"))).toBe(version);

  // The real curl, as the Helm chart's probe calls it, with only CURL_HOME: the .curlrc names a path
  // of the pod's filesystem, so point one at this folder the way the container would see it.
  const server = await mtlsServer();
  try {
    const viaCurlrc = await curl(["-E", join(dir, "probe.pem"), `https://127.0.0.1:${server.port}/`], {});
    expect(viaCurlrc).toEqual({ code: 0, out: "es-mtls-probe" });
    const text = readFileSync(join(dir, ".curlrc"), "utf8").replace(DIR, dir);
    const home = join(root, "curl-home");
    await Bun.write(join(home, ".curlrc"), text);
    expect(await curl([`https://127.0.0.1:${server.port}/`], { CURL_HOME: home })).toEqual({ code: 0, out: "es-mtls-probe" });
    // Without the config (-q, which must come first): no certificate, refused at the handshake.
    expect((await curl(["-q", `https://127.0.0.1:${server.port}/`], { CURL_HOME: home })).code).not.toBe(0);
  } finally {
    server.close();
  }

  // A retired intent (no probe): the .curlrc names no certificate and the key is gone.
  await keeper.apply(intent(3, false));
  expect(readFileSync(join(dir, ".curlrc"), "utf8")).not.toContain("cert =");
  expect(() => lstatSync(join(dir, "probe.pem"))).toThrow();
  keeper.stop();
});
