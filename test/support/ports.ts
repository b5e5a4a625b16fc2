// Free loopback ports for test servers. Chosen below the kernel's ephemeral range
// (net.ipv4.ip_local_port_range, 32768–60999 by default): a port handed out from that range can
// be taken as the local port of any outgoing connection (an agent dialling the controller, a
// client of the apiserver) before the server that was meant to listen on it starts, which
// showed as EADDRINUSE on a busy run. Below it, only another explicit bind can race, and this
// process never hands the same port out twice.

import { createServer } from "node:net";

const LOW = 20_000;
const HIGH = 32_767;
const handedOut = new Set<number>();

function bindable(port: number): boolean {
  try {
    Bun.listen({ hostname: "127.0.0.1", port, socket: { data() {} } }).stop(true);
    return true;
  } catch {
    return false;
  }
}

/** n distinct ports that were free a moment ago. */
export function freePorts(n: number): number[] {
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 10_000) throw new Error(`no free port in ${LOW}–${HIGH}`);
    const port = LOW + Math.floor(Math.random() * (HIGH - LOW + 1));
    if (handedOut.has(port) || !bindable(port)) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/** One port that was free a moment ago. */
export function freePort(): number {
  return freePorts(1)[0]!;
}

/**
 * A loopback address of its own (127.X.Y.Z) on which `port` is free: for a server that must listen on
 * a fixed port (9200, as a URL names it) beside others doing the same, e.g. pods of the test node,
 * which take random 127.X.Y.0/24 blocks.
 */
export async function freeLoopbackAddress(port: number): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const ip = `127.${2 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}.${2 + Math.floor(Math.random() * 250)}`;
    const free = await new Promise<boolean>((resolve) => {
      const srv = createServer();
      srv.once("error", () => resolve(false));
      srv.listen({ host: ip, port, exclusive: true }, () => srv.close(() => resolve(true)));
    });
    if (free) return ip;
  }
  throw new Error(`no loopback address with ${port} free`);
}
