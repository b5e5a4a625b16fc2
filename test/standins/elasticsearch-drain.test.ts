// The ES stand-in's graceful HTTP shutdown on SIGTERM, as Elasticsearch's: the listener closes at
// once (a new connection is refused), a request in flight is finished and answered with
// `Connection: close`, an idle kept-alive connection is closed cleanly (FIN, no reset), and the
// process exits only once no connection is left; what is still open after the grace period is cut.
// Raw TLS sockets, so each step is under the test's control (a half-sent request = in flight).
import { afterAll, expect, test } from "bun:test";
import * as net from "node:net";
import * as tls from "node:tls";
import { join } from "node:path";
import { killAll, tmpDir } from "../support/agent-harness.ts";
import { eventually } from "../support/eventually.ts";
import { freePorts } from "../support/ports.ts";
import { TestCA } from "../support/test-ca.ts";
import { CONFIG, PASSWORD, esFromEnv, stopAll, write } from "./setup.ts";

const SCRIPT = join(import.meta.dir, "../fixtures/elasticsearch-standin.ts");
const started: Bun.Subprocess[] = [];

afterAll(async () => {
  for (const p of started) p.kill("SIGKILL");
  await stopAll();
  killAll();
});

const AUTH = `Basic ${btoa(`elastic:${PASSWORD}`)}`;

/** A raw TLS connection that records what the server sent and how the connection ended. */
class Conn {
  data = "";
  ended = false; // the server's FIN
  error: string | undefined;
  closedAt = 0;
  readonly sock: tls.TLSSocket;
  readonly ready: Promise<void>;
  constructor(port: number, ca: string) {
    this.sock = tls.connect({ host: "127.0.0.1", port, ca, checkServerIdentity: () => undefined });
    this.ready = new Promise((res, rej) => {
      this.sock.once("secureConnect", () => res());
      this.sock.once("error", rej);
    });
    this.sock.on("data", (d: Buffer) => (this.data += d.toString()));
    this.sock.on("end", () => (this.ended = true));
    this.sock.on("error", (e) => (this.error = e.message));
    this.sock.on("close", () => (this.closedAt = Date.now()));
  }
  /** The responses received so far, each as its status line and lower-case header map. */
  responses(): Array<{ status: string; headers: Record<string, string> }> {
    return this.data.split("HTTP/1.1 ").slice(1).map((r) => {
      const [status = "", ...lines] = r.split("\r\n\r\n")[0]!.split("\r\n");
      return { status, headers: Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(":")).toLowerCase(), l.slice(l.indexOf(":") + 1).trim()])) };
    });
  }
}

function refused(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = net.connect({ host: "127.0.0.1", port });
    s.once("connect", () => (s.destroy(), res(false)));
    s.once("error", (e) => res((e as NodeJS.ErrnoException).code === "ECONNREFUSED"));
  });
}

test("SIGTERM: new connections refused, the request in flight answered with Connection: close, the idle kept-alive connection closed cleanly, then exit 0", async () => {
  const root = tmpDir("es-drain");
  const httpCa = await TestCA.create("http ca");
  const server = await httpCa.issue({ cn: "es", server: true });
  write(join(root, `${CONFIG}/certs/tls.crt`), server.certPem);
  write(join(root, `${CONFIG}/certs/tls.key`), server.key);
  write(join(root, `${CONFIG}/certs/ca.crt`), httpCa.pem);
  const [port] = freePorts(1);
  const logs: string[] = [];
  const proc = Bun.spawn([process.execPath, SCRIPT], {
    env: {
      ...process.env,
      STANDIN_ROOT: root,
      "xpack.security.http.ssl.key": "certs/tls.key",
      "xpack.security.http.ssl.certificate": "certs/tls.crt",
      "xpack.security.http.ssl.certificate_authorities": "certs/ca.crt",
      "network.host": "127.0.0.1",
      "http.port": String(port),
      "transport.port": "0",
      ELASTIC_PASSWORD: PASSWORD,
      ES_STANDIN_SHUTDOWN_GRACE_MS: "20000", // longer than the test's own steps: the exit must come from the drain, not the bound
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  started.push(proc);
  void (async () => {
    for await (const chunk of proc.stdout) logs.push(...new TextDecoder().decode(chunk).split("\n").filter(Boolean));
  })();
  let exitedAt = 0;
  const exited = proc.exited.then((code) => ((exitedAt = Date.now()), code));
  await eventually(() => expect(logs.some((l) => l.includes('"started"'))).toBe(true), { timeoutMs: 15_000, what: "stand-in started" });

  // A kept-alive connection that served one request and is now idle.
  const idle = new Conn(port!, httpCa.pem);
  await idle.ready;
  idle.sock.write(`GET / HTTP/1.1\r\nhost: es\r\nauthorization: ${AUTH}\r\n\r\n`);
  await eventually(() => expect(idle.responses().map((r) => r.status)).toEqual(["200 OK"]), { what: "first answer on the kept-alive connection" });
  expect(idle.responses()[0]!.headers.connection).toBeUndefined(); // kept alive before the drain
  // A request in flight: headers and half of its body sent.
  const body = JSON.stringify({ title: "in flight at SIGTERM", padding: "x".repeat(64) });
  const busy = new Conn(port!, httpCa.pem);
  await busy.ready;
  busy.sock.write(`PUT /drain/_doc/1 HTTP/1.1\r\nhost: es\r\nauthorization: ${AUTH}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body.slice(0, 20)}`);

  proc.kill("SIGTERM");
  // The listener is closed at once; the open connections are not cut.
  await eventually(async () => expect(await refused(port!)).toBe(true), { timeoutMs: 5000, intervalMs: 50, what: "new connections refused" });
  await eventually(() => expect(idle.ended).toBe(true), { timeoutMs: 5000, what: "idle kept-alive connection closed" });
  expect(idle.error).toBeUndefined(); // a FIN, not a reset
  expect(busy.ended || busy.closedAt > 0 || exitedAt > 0).toBe(false); // still waiting for its request

  busy.sock.write(body.slice(20));
  await eventually(() => expect(busy.responses().map((r) => r.status)).toEqual(["201 Created"]), { timeoutMs: 5000, what: "the in-flight request answered" });
  expect(busy.responses()[0]!.headers.connection).toBe("close");
  await eventually(() => expect(busy.ended).toBe(true), { timeoutMs: 5000, what: "the in-flight connection closed after its answer" });
  expect(busy.error).toBeUndefined();
  expect(await exited).toBe(0);
  expect(exitedAt).toBeGreaterThanOrEqual(busy.closedAt);
  expect(exitedAt - busy.closedAt).toBeLessThan(5000); // the exit follows the last connection, not the 20 s bound
}, 60_000);

test("drain: a connection whose request never completes is cut once the grace period is over", async () => {
  const f = await esFromEnv("none");
  const stuck = new Conn(f.es.port, f.httpCa.pem);
  await stuck.ready;
  stuck.sock.write(`PUT /drain/_doc/2 HTTP/1.1\r\nhost: es\r\nauthorization: ${AUTH}\r\ncontent-length: 100\r\n\r\n{`);
  await eventually(() => expect(f.es.draining).toBe(false), { what: "serving" });
  const t0 = Date.now();
  await f.es.drain(500);
  const took = Date.now() - t0;
  expect(took).toBeGreaterThanOrEqual(450);
  expect(took).toBeLessThan(5000);
  await eventually(() => expect(stuck.closedAt).toBeGreaterThan(0), { what: "stuck connection cut" });
  expect(stuck.responses()).toEqual([]);
  expect(f.logs.some((l) => String(l.message).includes("grace period elapsed"))).toBe(true);
}, 30_000);
