// Deno adapter: Deno.serve for health (plain HTTP; Deno.serve's mTLS options are
// ignored, denoland/deno#26825, but the health port needs none), and a per-request
// HttpClient holding only the controller CA.
import type { RuntimeAdapter } from "./contract.ts";

// The minimal slice of the Deno namespace used here, declared locally so the
// project type-checks with Bun/Node types only.
interface DenoHttpClient {
  close(): void;
}
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
  createHttpClient(opts: { caCerts: string[] }): DenoHttpClient;
  addSignalListener(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
}
const Deno = (globalThis as unknown as { Deno: DenoNamespace }).Deno;

export const denoAdapter: RuntimeAdapter = {
  name: "deno",
  async serve({ hostname, port, fetch }) {
    const server = Deno.serve({ hostname, port, onListen: () => {} }, fetch);
    return { port: server.addr.port, close: () => server.shutdown() };
  },
  async fetchTrusting(url, init, caPem) {
    const client = Deno.createHttpClient({ caCerts: [caPem] });
    try {
      const res = await fetch(url, { ...init, client } as RequestInit);
      if (!res.body) {
        client.close();
        return res;
      }
      // The client must outlive the (possibly endless) body stream, so close it when the body ends or is cancelled.
      const reader = res.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(ctrl) {
          try {
            const { done, value } = await reader.read();
            if (done) {
              ctrl.close();
              client.close();
            } else ctrl.enqueue(value);
          } catch (e) {
            client.close();
            ctrl.error(e);
          }
        },
        cancel(reason) {
          client.close();
          return reader.cancel(reason);
        },
      });
      return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
    } catch (e) {
      client.close();
      throw e;
    }
  },
  onSignal(signal, handler) {
    Deno.addSignalListener(signal, handler);
  },
};
