// es-mtls agent configuration: AGENT_FLAGS is the one specification of its flags, from which
// common/flags.ts parses the command line (`--name=value` or `--name value`), common/usage.ts prints
// --help and scripts/readme-flags.ts writes the README's table. Each flag is also an environment
// variable (a flag wins); the variables' names, the health port and the token path are the contract
// with the injection webhook and come from protocol/agent-env.ts.
import { join } from "node:path";
import { parseCommandLine, type CommandLine, type Flag } from "../common/flags.ts";
import { agentEnvName, DEFAULT_AGENT_HEALTH_PORT, DEFAULT_AGENT_TOKEN_FILE } from "../protocol/agent-env.ts";
import { HEARTBEAT_INTERVAL_MS, type Role } from "../protocol/intent.ts";
import { ConfigError } from "./errors.ts";
import type { Level } from "./log.ts";

const flag = (name: string, dflt: string | { shown: string }, description: string, extra: Partial<Flag> = {}): Flag => ({
  name,
  ...(typeof dflt === "string" ? { default: dflt } : dflt),
  env: agentEnvName(name),
  description,
  ...extra,
});
const REQUIRED = { shown: "(required)" };
const FROM_INTENT = { shown: "(from the intent)" };

export const AGENT_FLAGS: readonly Flag[] = [
  flag("controller-url", REQUIRED, "base URL of the controller's intent API (https://…)"),
  flag("controller-ca", REQUIRED, "PEM file with the CA that signs the controller's serving cert; the only trust root used"),
  flag("token-file", DEFAULT_AGENT_TOKEN_FILE, "projected service-account token; re-read for every request"),
  flag("role", REQUIRED, "`elasticsearch` or `kibana`; an intent for another role is refused"),
  flag("dir", FROM_INTENT, "output directory; when set, an intent naming another directory is refused"),
  flag("once", "false", "write the material once, then exit 0 (the one-shot init container of the classic sidecar layout)", { switch: true }),
  flag("root", "/", "prefix for every path the agent opens (output dir, token, CAs, user certificate mount) when it runs outside a container"),
  flag("file-mode", FROM_INTENT, "octal mode override for written files, e.g. 0440"),
  flag("uid", FROM_INTENT, "owner override for written files; -1 = leave as created"),
  flag("gid", FROM_INTENT, "group override for written files; -1 = leave as created"),
  flag("health-addr", "0.0.0.0", "listen address of /healthz /readyz /startupz /status /metrics; the kubelet probes the pod IP, so keep it reachable there (not 127.0.0.1)"),
  flag("health-port", String(DEFAULT_AGENT_HEALTH_PORT), "listen port (0 = any free port, logged at start)"),
  flag("probe-url", { shown: "ES: https://127.0.0.1:9200, Kibana: http://127.0.0.1:5601" }, "the local workload to prove against"),
  flag("probe-ca", { shown: "(none)" }, "PEM file to verify the workload's serving cert; unset = do not verify (loopback only)"),
  flag("proof-timeout-ms", "30000", "how long one proof keeps retrying (ES re-reads files every 5 s)"),
  flag("proof-interval-ms", "1000", "pause between proof attempts"),
  flag("reprove-interval-ms", "60000", "re-check a proven workload (and retry a failed proof) at this period"),
  flag("user-poll-ms", "10000", "how often a user-provided identity's mounted files are re-read"),
  flag("heartbeat-timeout-ms", String(3 * HEARTBEAT_INTERVAL_MS), "drop and reconnect a stream that has been silent this long (3 × the protocol heartbeat)"),
  flag("backoff-min-ms", "500", "first reconnect/retry delay (doubling, equal jitter: half fixed, half random; common/backoff.ts)"),
  flag("backoff-max-ms", "30000", "cap of the reconnect/retry delay"),
  flag("request-timeout-ms", "10000", "timeout of certificate and status requests"),
  flag("log-level", "info", "`debug`, `info`, `warn` or `error`"),
];

export interface AgentConfig {
  controllerUrl: string;
  controllerCaFile: string;
  tokenFile: string;
  role: Role;
  dir?: string;
  /** Prefix for paths named by intents; "/" in a container. */
  root: string;
  /** Exit 0 after the first complete write. */
  once: boolean;
  fileMode?: number;
  uid?: number;
  gid?: number;
  healthAddr: string;
  healthPort: number;
  probeUrl: string;
  probeCaFile?: string;
  proofTimeoutMs: number;
  proofIntervalMs: number;
  reproveIntervalMs: number;
  userPollMs: number;
  heartbeatTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
  requestTimeoutMs: number;
  logLevel: Level;
}

/** Where a path of the pod's filesystem is here (--root; "/" in a container). */
export function localPath(cfg: Pick<AgentConfig, "root">, path: string): string {
  return cfg.root === "/" ? path : join(cfg.root, path);
}

/** The command line's words for what is wrong with it. */
function commandLineError(line: Extract<CommandLine, { ok: false }>): ConfigError {
  if (line.problem === "unknown") return new ConfigError(`unknown option ${line.arg}`);
  if (line.problem === "needs-value") return new ConfigError(`option ${line.arg} needs a value`);
  return new ConfigError(`unexpected argument "${line.arg}" (options look like --name=value)`);
}

function parseBool(name: string, v: string | undefined): boolean {
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new ConfigError(`--${name}: "${v}" is not true or false`);
}

export function loadConfig(argv: string[], env: Record<string, string | undefined>): AgentConfig {
  const line = parseCommandLine(AGENT_FLAGS, argv);
  if (!line.ok) throw commandLineError(line);
  /** The flag, else its variable (an empty one counts as unset), else the specification's default. */
  const get = (name: string): string | undefined => {
    const given = line.values.get(name);
    if (given !== undefined) return given;
    const spec = AGENT_FLAGS.find((f) => f.name === name)!;
    const e = env[spec.env!];
    return e === undefined || e === "" ? spec.default : e;
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new ConfigError(`--${name} (or ${agentEnvName(name)}) is required`);
    return v;
  };
  const int = (name: string, min: number): number | undefined => {
    const v = get(name);
    if (v === undefined) return undefined;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(`--${name}: "${v}" is not an integer`);
    const n = Number(v);
    if (n < min) throw new ConfigError(`--${name}: ${n} is below the minimum ${min}`);
    return n;
  };
  const num = (name: string, min: number) => int(name, min)!;

  const role = required("role");
  if (role !== "elasticsearch" && role !== "kibana") throw new ConfigError(`--role: "${role}" is not elasticsearch or kibana`);
  const controllerUrl = required("controller-url").replace(/\/+$/, "");
  if (!/^https:\/\//.test(controllerUrl)) throw new ConfigError(`--controller-url: "${controllerUrl}" must be an https:// URL`);
  const modeText = get("file-mode");
  let fileMode: number | undefined;
  if (modeText !== undefined) {
    if (!/^0?[0-7]{3}$/.test(modeText)) throw new ConfigError(`--file-mode: "${modeText}" is not an octal mode like 0440`);
    fileMode = parseInt(modeText, 8);
  }
  const level = get("log-level")!;
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level: "${level}" is not debug, info, warn or error`);
  const probeUrl = get("probe-url") ?? (role === "elasticsearch" ? "https://127.0.0.1:9200" : "http://127.0.0.1:5601");
  try {
    new URL(probeUrl);
  } catch {
    throw new ConfigError(`--probe-url: "${probeUrl}" is not a URL`);
  }
  const dir = get("dir");
  const uid = int("uid", -1);
  const gid = int("gid", -1);
  const probeCaFile = get("probe-ca");
  return {
    controllerUrl,
    controllerCaFile: required("controller-ca"),
    tokenFile: get("token-file")!,
    role,
    ...(dir !== undefined ? { dir } : {}),
    root: get("root")!,
    once: parseBool("once", get("once")),
    ...(fileMode !== undefined ? { fileMode } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    healthAddr: get("health-addr")!,
    healthPort: num("health-port", 0),
    probeUrl,
    ...(probeCaFile !== undefined ? { probeCaFile } : {}),
    proofTimeoutMs: num("proof-timeout-ms", 100),
    proofIntervalMs: num("proof-interval-ms", 10),
    reproveIntervalMs: num("reprove-interval-ms", 100),
    userPollMs: num("user-poll-ms", 100),
    heartbeatTimeoutMs: num("heartbeat-timeout-ms", 100),
    backoffMinMs: num("backoff-min-ms", 1),
    backoffMaxMs: num("backoff-max-ms", 1),
    requestTimeoutMs: num("request-timeout-ms", 100),
    logLevel: level as Level,
  };
}
