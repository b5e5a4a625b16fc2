// Bun adapter: Bun.serve for health, fetch's `tls.ca` for a private trust root.
import type { RuntimeAdapter } from "./contract.ts";

export const bunAdapter: RuntimeAdapter = {
  name: "bun",
  async serve({ hostname, port, fetch }) {
    const server = Bun.serve({ hostname, port, fetch, idleTimeout: 30 });
    return {
      port: server.port ?? port,
      close: async () => {
        await server.stop(true);
      },
    };
  },
  fetchTrusting(url, init, caPem) {
    // Bun extends RequestInit with `tls`; the CA given here replaces the system store for this call.
    return fetch(url, { ...init, tls: { ca: caPem } } as RequestInit);
  },
  onSignal(signal, handler) {
    process.on(signal, handler);
  },
};
