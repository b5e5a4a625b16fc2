// Serves the intent API over HTTPS on Bun. Bun cannot swap the certificate of a listening
// server (server.reload keeps the TLS context), so a rotation rebinds the port with the new
// certificate while connections already open (long-lived intent streams) finish on the old one.
import type { Server } from "bun";
import { PATHS } from "../../protocol/intent.ts";

export interface ServingMaterial {
  /** PEM certificate chain. */
  cert: string;
  /** PEM (PKCS#8) private key. */
  key: string;
}

export interface IntentServerOptions {
  fetch: (request: Request) => Response | Promise<Response>;
  tls: ServingMaterial;
  /** 0 picks a free port. */
  port?: number;
  hostname?: string;
  /** Seconds an ordinary request may idle; intent streams are exempt (they carry heartbeats). */
  idleTimeoutSeconds?: number;
}

export interface IntentServer {
  readonly port: number;
  readonly url: URL;
  /** Serves new connections with a new certificate and key. */
  updateTls(tls: ServingMaterial): void;
  /** Stops listening and closes every connection, old ones included. */
  stop(): Promise<void>;
}

export function serveIntentApi(options: IntentServerOptions): IntentServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const listen = (port: number, tls: ServingMaterial): Server<undefined> =>
    Bun.serve({
      port,
      hostname,
      tls,
      idleTimeout: options.idleTimeoutSeconds ?? 30,
      fetch(request, server) {
        if (new URL(request.url).pathname === PATHS.intent) server.timeout(request, 0);
        return options.fetch(request);
      },
    });

  let current = listen(options.port ?? 0, options.tls);
  const port = current.port!;
  const retired: Server<undefined>[] = [];

  return {
    port,
    url: new URL(`https://${hostname.includes(":") ? `[${hostname}]` : hostname}:${port}`),
    updateTls(tls) {
      const previous = current;
      // stop(false): stop accepting, let open connections finish.
      void previous.stop(false);
      retired.push(previous);
      current = listen(port, tls);
    },
    async stop() {
      await Promise.all([current, ...retired].map((server) => server.stop(true)));
    },
  };
}
