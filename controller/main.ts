// es-mtls controller entry point: caches → (leader only) reconcile queue → intent API for agents,
// the webhooks on every replica, plus /healthz /readyz /metrics. Run: `bun controller/main.ts --flags`.
// This file keeps the process (flags, signals, timers); assemble.ts wires the collaborators.
import { startController } from "./assemble.ts";
import { loadConfig } from "./config.ts";
import { log, setLogLevel } from "./log.ts";

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(process.argv.slice(2));
} catch (e) {
  log.error("invalid configuration", { detail: e instanceof Error ? e.message : String(e) });
  process.exit(2);
}
setLogLevel(config.logLevel);

const controller = await startController(config, {
  onLeadershipLost: () => {
    // Another replica leads now; stop writing at once and restart as a candidate.
    log.error("leadership lost; exiting so a fresh process competes again");
    process.exit(1);
  },
});

// Standbys poll for the serving material; everyone re-checks it periodically for rotation.
const servingTimer = setInterval(() => void controller.refreshServing(controller.leading).catch((e) => log.warn("serving certificate refresh failed", { error: String(e) })), 5000);
void controller.refreshServing(false).catch(() => {});
const resyncTimer = setInterval(() => controller.resync(), config.resyncMs);

async function shutdown(signal: string) {
  log.info("shutting down", { signal });
  clearInterval(servingTimer);
  clearInterval(resyncTimer);
  await controller.stop();
  process.exit(0);
}
process.once("SIGTERM", () => void shutdown("SIGTERM"));
process.once("SIGINT", () => void shutdown("SIGINT"));
