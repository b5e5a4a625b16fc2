// Free loopback ports for test servers. All n are held open together, so none is handed
// out twice; they are free again when this returns (a server that starts later may race
// another process for one, which is rare and shows as EADDRINUSE).

/** n distinct ports that were free a moment ago. */
export function freePorts(n: number): number[] {
  const listeners = Array.from({ length: n }, () => Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } }));
  const ports = listeners.map((l) => l.port);
  for (const l of listeners) l.stop(true);
  return ports;
}

/** One port that was free a moment ago. */
export function freePort(): number {
  return freePorts(1)[0]!;
}
