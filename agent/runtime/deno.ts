// Deno adapter: Deno.serve for health (plain HTTP; Deno.serve's mTLS options are
// ignored, denoland/deno#26825, but the health port needs none), and node:https for
// calls to the controller. Not fetch with Deno.createHttpClient({ caCerts }): those CAs
// are added to Deno's default roots (Mozilla's, the system's with DENO_TLS_CA_STORE, any
// DENO_CERT file), so a server certified by any of them was accepted (issue 9 item 10).
// node:https's `ca` replaces the default store, as Bun's fetch `tls.ca` does (tested on
// Deno 2.9.6 in test/agent/process/trust-root.test.ts).
import type { RuntimeAdapter } from "./contract.ts";

// The minimal slice of the Deno namespace used here, declared locally so the
// project type-checks with Bun/Node types only.
interface DenoServer {
  finished: Promise<void>;
  addr: { port: number };
  shutdown(): Promise<void>;
}
interface DenoNamespace {
  serve(
    opts: { hostname: string; port: number; onListen?: (a: { port: number }) => void },
    handler: (req: Request) => Response | Promise<Response>,
  ): DenoServer;
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
}
const Deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;

/** A fetch-shaped request over node:https that trusts `caPem` alone; the body streams (the intent stream is endless). */
async function requestTrusting(url: string, init: RequestInit, caPem: string): Promise<Response> {
  const body = init.body;
  if (body != null && typeof body !== "string" && !(body instanceof Uint8Array)) {
    throw new TypeError("the Deno adapter sends string or Uint8Array bodies only");
  }
  // Imported here, not at the top: `bun build --compile` bundles this file too and hoists its
  // static imports of built-ins to the binary's start, so the Bun agent would load node:https
  // and node:stream it never uses (issue 21).
  const [https, { Readable }] = await Promise.all([import("node:https"), import("node:stream")]);
  return new Promise<Response>((resolve, reject) => {
    const req = https.request(
      url,
      { method: init.method ?? "GET", headers: Object.fromEntries(new Headers(init.headers)), ca: caPem, ...(init.signal ? { signal: init.signal } : {}) },
      (res) => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(res.headers)) for (const v of [value ?? []].flat()) headers.append(name, v);
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || init.method === "HEAD";
        if (empty) res.resume();
        resolve(new Response(empty ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>), { status, statusText: res.statusMessage ?? "", headers }));
      },
    );
    req.on("error", reject);
    req.end(body ?? undefined);
  });
}

export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  async serve({ hostname, port, fetch }) {
    const server = Deno.serve({ hostname, port, onListen: () => {} }, fetch);
    return { port: server.addr.port, close: () => server.shutdown() };
  },
  fetchTrusting: requestTrusting,
  onSignal(signal, handler) {
    Deno.addSignalListener(signal, handler);
  },
};
