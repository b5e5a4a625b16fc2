// es-mtls controller entry point: caches → (leader only) reconcile queue → intent API for agents,
// the webhooks on every replica, plus /healthz /readyz /metrics. Run: `bun controller/main.ts --flags`.
// This file keeps the process (flags, signals, timers); assemble.ts wires the collaborators.
import { parseCommandLine } from "../common/flags.ts";
import { usageLine, usageText } from "../common/usage.ts";
import { VERSION } from "../common/version.ts";
import { startController } from "./assemble.ts";
import { CONTROLLER_FLAGS, loadConfig } from "./config.ts";
import { log, setLogLevel } from "./log.ts";
import { CONTROLLER_NAME } from "./names.ts";

const argv = process.argv.slice(2);
// --help and --version answer before the configuration is read (a bad command line falls
// through to loadConfig, which names what is wrong).
const line = parseCommandLine(CONTROLLER_FLAGS, argv);
if (line.ok && line.help) {
  process.stdout.write(usageText(CONTROLLER_NAME, CONTROLLER_FLAGS));
  process.exit(0);
}
if (line.ok && line.version) {
  process.stdout.write(`${CONTROLLER_NAME} ${VERSION}\n`);
  process.exit(0);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig(argv);
} catch (e) {
  // The usage line first: log readers take the last line, the JSON one, as the reason.
  process.stderr.write(`${usageLine(CONTROLLER_NAME)}\n`);
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
