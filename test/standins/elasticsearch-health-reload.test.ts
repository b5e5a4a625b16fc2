// The ES stand-in's cluster health (from which peers of discovery.seed_hosts answer) and
// its TLS file reload at the default 5 s poll (behaviour notes §3), started from env.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as tls from "node:tls";
import { killAll } from "../support/agent-harness.ts";
import { healthStatusOf } from "../fixtures/elasticsearch-standin.ts";
import { freePorts } from "../support/ports.ts";
import { eventually, truthy } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { CONFIG, PASSWORD, esFromEnv, officialClient, stopAll, write } from "./setup.ts";

afterAll(async () => {
  await stopAll();
  killAll();
});

describe("cluster health from peers", () => {
  test("the rule: green when all expected nodes are up, yellow with a majority, red otherwise", () => {
    expect([healthStatusOf(3, 3), healthStatusOf(2, 3), healthStatusOf(1, 3), healthStatusOf(1, 2), healthStatusOf(1, 1)]).toEqual(["green", "yellow", "red", "red", "green"]);
  });

  test("three nodes seeded with each other: green, yellow when one stops, red when two stop; wait_for_status answers 408", async () => {
    const transport = freePorts(3);
    const seeds = transport.map((p) => `127.0.0.1:${p}`).join(",");
    const nodes = [];
    for (const [i, port] of transport.entries()) nodes.push(await esFromEnv("optional", { "transport.port": String(port), "discovery.seed_hosts": seeds, "node.name": `es-${i}`, "cluster.name": "three" }));
    const first = nodes[0]!;
    const es = officialClient(first.url, { ca: first.httpCa.pem, password: PASSWORD });
    try {
      expect(await es.cluster.health()).toMatchObject({ status: "green", number_of_nodes: 3, number_of_data_nodes: 3 });
      await nodes[2]!.es.stop();
      expect(await es.cluster.health()).toMatchObject({ status: "yellow", number_of_nodes: 2 });
      await nodes[1]!.es.stop();
      expect(await es.cluster.health()).toMatchObject({ status: "red", number_of_nodes: 1 });
      const waited = await es.cluster.health({ wait_for_status: "yellow", timeout: "300ms" }, { ignore: [408], meta: true });
      expect(waited.statusCode).toBe(408);
      expect(waited.body).toMatchObject({ status: "red", timed_out: true });
    } finally {
      await es.close();
    }
  });

  test("an unresolvable seed counts as a node that is down; cluster.initial_master_nodes sets the expected count", async () => {
    const a = await esFromEnv("none", { "discovery.seed_hosts": "es-1.nowhere.invalid" });
    const b = await esFromEnv("none", { "discovery.seed_hosts": "es-1.nowhere.invalid", "cluster.initial_master_nodes": "es-0" });
    const ca = officialClient(a.url, { ca: a.httpCa.pem, password: PASSWORD });
    const cb = officialClient(b.url, { ca: b.httpCa.pem, password: PASSWORD });
    try {
      expect(await ca.cluster.health()).toMatchObject({ status: "red", number_of_nodes: 1 });
      expect(await cb.cluster.health()).toMatchObject({ status: "green", number_of_nodes: 1 });
    } finally {
      await ca.close();
      await cb.close();
    }
  });
});

/** The certificate the server presents now, on a fresh connection. */
function servedCert(port: number): Promise<string> {
  return new Promise((res, rej) => {
    const s = tls.connect({ host: "127.0.0.1", port, rejectUnauthorized: false }, () => {
      res(s.getPeerX509Certificate()!.serialNumber);
      s.destroy();
    });
    s.on("error", rej);
  });
}

describe("reload at the default poll (5 s)", () => {
  test("a swapped server certificate is served within about 5 s; connections opened before keep the old one", async () => {
    const f = await esFromEnv("none");
    const before = await servedCert(f.es.port);
    const open = tls.connect({ host: "127.0.0.1", port: f.es.port, rejectUnauthorized: false });
    await new Promise((r) => open.once("secureConnect", r));
    const next = await f.httpCa.issue({ cn: "es-renewed", server: true });
    const t0 = Date.now();
    // The kubelet's way: write new files, swap a symlink to them.
    write(f.host(`${CONFIG}/certs/next/tls.crt`), next.certPem);
    write(f.host(`${CONFIG}/certs/next/tls.key`), next.key);
    for (const n of ["tls.crt", "tls.key"]) {
      fs.symlinkSync(`next/${n}`, f.host(`${CONFIG}/certs/${n}.tmp`));
      fs.renameSync(f.host(`${CONFIG}/certs/${n}.tmp`), f.host(`${CONFIG}/certs/${n}`));
    }
    const after = await eventually(truthy(async () => { const s = await servedCert(f.es.port); return s !== before ? s : undefined; }), { timeoutMs: 8000, intervalMs: 200, what: "new certificate served" });
    expect(after.toLowerCase()).toBe(next.certificate.serialNumber.toLowerCase());
    expect(Date.now() - t0).toBeLessThan(7000);
    expect(f.logs.some((l) => String(l.message).startsWith("updated 1 ssl contexts"))).toBe(true);
    expect(open.getPeerX509Certificate()!.serialNumber).toBe(before);
    open.destroy();
  }, 20_000);

  test("a broken trust bundle keeps the old context, is not retried until it changes, and a good one is loaded", async () => {
    const f = await esFromEnv("required", { ES_STANDIN_RELOAD_MS: "100" });
    const other = await TestCA.create("other client ca");
    const bundle = f.host(`${CONFIG}/client-trust-bundle/client-trust-bundle.crt`);
    fs.writeFileSync(bundle, f.clientCa.pem + "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n");
    await eventually(truthy(() => f.es.failedReloads === 1), { timeoutMs: 3000, what: "failed reload" });
    expect((await f.probe(f.client)).result).toBe("accepted");
    const polls = Date.now();
    await eventually(truthy(() => Date.now() - polls > 500), { timeoutMs: 2000 }); // ≥ 5 polls with the file unchanged
    expect(f.es.failedReloads).toBe(1);
    fs.writeFileSync(bundle, other.pem);
    await eventually(truthy(() => f.es.reloads === 1), { timeoutMs: 3000, what: "good reload" });
    expect((await f.probe(f.client)).result).toBe("refused");
  });
});
