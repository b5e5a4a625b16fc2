// es-mtls agent entry point: `bun agent/main.ts …`, `deno run -A agent/main.ts …`, or
// the `bun build --compile` binary. Options are AGENT_FLAGS in config.ts (`--help` lists them).
import { parseCommandLine } from "../common/flags.ts";
import { usageLine, usageText } from "../common/usage.ts";
import { VERSION } from "../common/version.ts";
import { startAgent, type RunningAgent } from "./assemble.ts";
import { AGENT_FLAGS, loadConfig, type AgentConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { errorMessage, logger, setLogLevel } from "./log.ts";
import { loadAdapter } from "./runtime/load.ts";

const PROGRAM = "es-mtls-agent";

async function main(): Promise<number> {
  const argv = process.argv.slice(2);
  // --help and --version answer before the configuration is read (a bad command line falls
  // through to loadConfig, which names what is wrong).
  const line = parseCommandLine(AGENT_FLAGS, argv);
  if (line.ok && line.help) {
    console.log(usageText(PROGRAM, AGENT_FLAGS).trimEnd());
    return 0;
  }
  if (line.ok && line.version) {
    console.log(`${PROGRAM} ${VERSION}`);
    return 0;
  }
  let cfg: AgentConfig;
  try {
    cfg = loadConfig(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(usageLine(PROGRAM));
      logger.error("invalid configuration", { detail: e.message });
      return 2;
    }
    throw e;
  }
  setLogLevel(cfg.logLevel);
  const rt = await loadAdapter();
  let agent: RunningAgent | undefined;
  let exiting = false;
  const shutdown = (signal: string) => {
    if (exiting) return;
    exiting = true;
    logger.info("shutting down", { signal });
    void (agent?.stop() ?? Promise.resolve()).finally(() => {
      logger.info("stopped");
      process.exit(0);
    });
  };
  rt.onSignal("SIGTERM", () => shutdown("SIGTERM"));
  rt.onSignal("SIGINT", () => shutdown("SIGINT"));
  agent = await startAgent(rt, cfg);
  if (cfg.once) {
    // One-shot init container (classic layout): the workload starts only after we exit.
    while (!agent.hasMaterial) await new Promise((r) => setTimeout(r, 100));
    await agent.stop();
    logger.info("material written once; exiting");
    return 0;
  }
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e) => {
    logger.error("fatal", { detail: errorMessage(e) });
    process.exit(1);
  },
);
