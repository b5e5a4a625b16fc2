// Wires the real collaborators around the orchestrator: one controller client shared by
// the intent stream, the identity source and the reporter; the disk store; the workload
// prover; and the health server that shows the orchestrator's state.
import { localPath, type AgentConfig } from "./config.ts";
import { ControllerClient } from "./controller-client.ts";
import { ControllerIdentity } from "./identity/provider.ts";
import { IntentStream } from "./intent/stream.ts";
import { logger } from "./log.ts";
import { Orchestrator } from "./orchestrator.ts";
import { CurlProbeIdentity } from "./probe-identity/curl-identity.ts";
import { WorkloadProver } from "./prove/prover.ts";
import { healthApp } from "./report/health-server.ts";
import { Metrics } from "./report/metrics.ts";
import { Reporter } from "./report/reporter.ts";
import { statusJson, statusReport } from "./report/status.ts";
import type { RuntimeAdapter, Served } from "./runtime/contract.ts";
import { DiskStore } from "./write/store.ts";

export interface RunningAgent {
  /** True once a complete set of material is on disk. */
  readonly hasMaterial: boolean;
  stop(): Promise<void>;
}

export async function startAgent(rt: RuntimeAdapter, cfg: AgentConfig): Promise<RunningAgent> {
  const local = (p: string) => localPath(cfg, p);
  const metrics = new Metrics();
  const client = new ControllerClient(rt, { baseUrl: cfg.controllerUrl, caFile: local(cfg.controllerCaFile), tokenFile: local(cfg.tokenFile) });
  const reporter = new Reporter(client, () => statusReport(agent.state()), {
    timeoutMs: cfg.requestTimeoutMs,
    backoffMinMs: cfg.backoffMinMs,
    backoffMaxMs: cfg.backoffMaxMs,
  });
  const identity = new ControllerIdentity(client, metrics, { requestTimeoutMs: cfg.requestTimeoutMs, local });
  const probeOptions = { local, backoffMinMs: cfg.backoffMinMs, backoffMaxMs: cfg.backoffMaxMs, ...(cfg.fileMode !== undefined ? { fileMode: cfg.fileMode } : {}) };
  const agent: Orchestrator = new Orchestrator(cfg, {
    feed: new IntentStream(client, cfg),
    identity,
    ...(cfg.role === "elasticsearch" ? { probe: new CurlProbeIdentity(identity, probeOptions) } : {}),
    store: new DiskStore(),
    prover: new WorkloadProver({ role: cfg.role, probeUrl: cfg.probeUrl, ...(cfg.probeCaFile ? { probeCaFile: local(cfg.probeCaFile) } : {}), proofTimeoutMs: cfg.proofTimeoutMs }),
    reporter,
    metrics,
  });

  await agent.open();
  const app = healthApp({
    alive: () => agent.alive,
    started: () => agent.hasMaterial,
    readiness: () => agent.readiness(),
    status: () => statusJson(agent.state(), { runtime: rt.name, role: cfg.role }),
    metrics: () => {
      const s = agent.state();
      return metrics.render({
        ...(s.material.identity ? { certNotAfter: s.material.identity.leaf.notAfter } : {}),
        ...(s.material.bundle ? { bundleSha256: s.material.bundle.sha256 } : {}),
        generation: s.generation,
        ready: s.readiness.ready,
        connected: s.connected,
      });
    },
  });
  const server: Served = await rt.serve({ hostname: cfg.healthAddr, port: cfg.healthPort, fetch: app.fetch });
  logger.info("health server listening", { addr: cfg.healthAddr, port: server.port, runtime: rt.name });
  agent.start();

  return {
    get hasMaterial() {
      return agent.hasMaterial;
    },
    async stop() {
      await agent.stop();
      await server.close().catch(() => {});
    },
  };
}
