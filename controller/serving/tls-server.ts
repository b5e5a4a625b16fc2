// Serves a hono app over HTTPS on Bun: the intent API and the webhooks each get one. Bun cannot
// swap the certificate of a listening server (server.reload keeps the TLS context), so a rotation
// rebinds the port with the new certificate while connections already open (long-lived intent
// streams) finish on the old one.
//
// Timeouts (issue 9 item 4): every connection starts with the idle timeout; only the app can
// lift it, through `holdOpen` in its env, and the intent app does so only for a stream whose
// token it verified. A connection that never completes its TLS handshake or request headers is
// closed by Bun's HTTP layer (uWebSockets) after its fixed 10 s (measured ≤ 12 s: 4 s timer
// ticks), whatever idleTimeout says; Bun.serve offers no option to shorten it.
import type { Server } from "bun";

export interface TlsMaterial {
  /** PEM certificate chain. */
  cert: string;
  /** PEM (PKCS#8) private key. */
  key: string;
}

/** What the server hands the app with each request (hono: `c.env`). */
export interface ServerEnv {
  /** Exempts this request's connection from the idle timeout (an authenticated long-lived stream). */
  holdOpen: () => void;
}

interface TlsServerOptions {
  fetch: (request: Request, env: ServerEnv) => Response | Promise<Response>;
  tls: TlsMaterial;
  /** 0 picks a free port. */
  port?: number;
  hostname?: string;
  /** Seconds a connection may idle; only what the app holds open (verified streams) is exempt. */
  idleTimeoutSeconds?: number;
}

export interface TlsServer {
  readonly port: number;
  readonly url: URL;
  /** Serves new connections with a new certificate and key. */
  updateTls(tls: TlsMaterial): void;
  /** Stops listening and closes every connection, old ones included. */
  stop(): Promise<void>;
}

export function serveTls(options: TlsServerOptions): TlsServer {
  const hostname = options.hostname ?? "127.0.0.1";
  const listen = (port: number, tls: TlsMaterial): Server<undefined> =>
    Bun.serve({
      port,
      hostname,
      tls,
      idleTimeout: options.idleTimeoutSeconds ?? 30,
      fetch(request, server) {
        return options.fetch(request, { holdOpen: () => server.timeout(request, 0) });
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
