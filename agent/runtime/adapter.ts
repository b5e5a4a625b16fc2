// The small surface where Bun and Deno differ. Everything else in the agent is
// web-standard TypeScript plus node:fs / node:tls / node:crypto, which behave the
// same on both runtimes (tested: symlink/rename/fsync/chown, TLS client handshakes).

export interface ServeOptions {
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

export function isDeno(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}

/** Picks the adapter of the runtime we are on; both are loaded lazily so neither runtime parses the other's globals. */
export async function loadAdapter(): Promise<RuntimeAdapter> {
  if (isDeno()) return (await import("./deno.ts")).denoAdapter;
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return (await import("./bun.ts")).bunAdapter;
  throw new Error("unsupported runtime: es-mtls agent runs on Bun or Deno");
}
