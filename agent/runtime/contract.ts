// The small surface where Bun and Deno differ: the contract each adapter implements.
// Everything else in the agent is web-standard TypeScript plus node:fs / node:tls /
// node:crypto, which behave the same on both runtimes (tested: symlink/rename/fsync/
// chown, TLS client handshakes). Adapters import this file and nothing imports them
// but the loader (load.ts), so dependencies point one way.

interface ServeOptions {
  hostname: string;
  port: number; // 0 = pick a free port
  fetch: (req: Request) => Response | Promise<Response>;
}

export interface Served {
  port: number;
  close(): Promise<void>;
}

export interface RuntimeAdapter {
  readonly name: "bun" | "deno";
  /** Plain-HTTP server for the health endpoint. */
  serve(opts: ServeOptions): Promise<Served>;
  /** fetch() that trusts only `caPem` (no system store) for this request. */
  fetchTrusting(url: string, init: RequestInit, caPem: string): Promise<Response>;
  onSignal(signal: "SIGTERM" | "SIGINT", handler: () => void): void;
}
