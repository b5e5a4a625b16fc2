// /healthz, /readyz and /metrics over plain HTTP, for the kubelet's probes and Prometheus.
import { Hono } from "hono";
import type { CrdSupport } from "../kube/crd-support.ts";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";

interface HealthState {
  cachesSynced: boolean;
  intentApi: boolean;
  /** Served, or switched off (`--webhook-port=0`). */
  webhooks: boolean;
  leader: boolean;
  elasticsearchCrd: CrdSupport | undefined;
}

interface HealthServer {
  readonly port: number;
  stop(): void;
}

export function serveHealth(o: { port: number; hostname: string; state: () => HealthState }): HealthServer {
  const health = new Hono();
  health.get("/healthz", (c) => c.json({ status: "ok" }));
  health.get("/readyz", (c) => {
    // Ready = able to answer the webhooks from synced caches (the webhook Service picks ready replicas).
    const s = o.state();
    const ready = s.cachesSynced && s.intentApi && s.webhooks;
    return c.json({ ready, cachesSynced: s.cachesSynced, intentApi: s.intentApi, webhooks: s.webhooks, leader: s.leader, elasticsearchCrd: s.elasticsearchCrd }, ready ? 200 : 503);
  });
  health.get("/metrics", (c) => c.text(metrics.text(), 200, { "content-type": "text/plain; version=0.0.4" }));
  const server = Bun.serve({ port: o.port, hostname: o.hostname, fetch: health.fetch });
  log.info("health endpoints listening", { port: server.port });
  return { port: server.port!, stop: () => void server.stop(true) };
}
