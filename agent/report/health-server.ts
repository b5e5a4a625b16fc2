// Health endpoints (hono). /healthz only says the process is alive: it must never
// fail because the controller is away. /startupz turns 200 after the first complete
// write, for a native-sidecar startupProbe (the workload starts only after it, so it
// cannot wait for a proof against that workload). /readyz needs this pod's own material
// (its leaf unexpired; the bundle's entries never count, see readiness.ts) and a proof that
// the workload loaded it.
import { Hono } from "hono";

interface HealthSource {
  alive(): boolean;
  started(): boolean;
  readiness(): { ready: boolean; reason: string };
  status(): unknown;
  metrics(): string;
}

export function healthApp(src: HealthSource): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => (src.alive() ? c.text("ok\n") : c.text("stopping\n", 503)));
  app.get("/startupz", (c) => (src.started() ? c.text("ok\n") : c.text("no complete write yet\n", 503)));
  app.get("/readyz", (c) => {
    const r = src.readiness();
    return c.text(r.reason + "\n", r.ready ? 200 : 503);
  });
  app.get("/status", (c) => c.json(src.status()));
  app.get("/metrics", (c) => c.text(src.metrics(), 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" }));
  return app;
}
