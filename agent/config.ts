/*
 * es-mtls agent configuration. Every option is a flag (`--name=value` or
 * `--name value`) or an environment variable; a flag wins over the variable. The
 * variable names, the health port and the token path are the contract with the
 * injection webhook and come from protocol/agent-env.ts.
 *
 * | flag                     | environment variable                  | default                    | meaning |
 * |--------------------------|---------------------------------------|----------------------------|---------|
 * | --controller-url         | ES_MTLS_CONTROLLER_URL                | (required)                 | base URL of the controller's intent API (https://…) |
 * | --controller-ca          | ES_MTLS_CONTROLLER_CA                 | (required)                 | PEM file with the CA that signs the controller's serving cert; the only trust root used |
 * | --token-file             | ES_MTLS_TOKEN_FILE                    | /var/run/secrets/es-mtls/token | projected service-account token; re-read for every request |
 * | --role                   | ES_MTLS_ROLE                          | (required)                 | elasticsearch or kibana; an intent for another role is refused |
 * | --dir                    | ES_MTLS_DIR                           | (from the intent)          | output directory; when set, an intent naming another directory is refused |
 * | --once                   | ES_MTLS_ONCE                          | false                      | write the material once, then exit 0 (the one-shot init container of the classic sidecar layout) |
 * | --root                   | ES_MTLS_ROOT                          | /                          | prefix for every path the agent opens (output dir, token, CAs, user certificate mount) when it runs outside a container |
 * | --file-mode              | ES_MTLS_FILE_MODE                     | (from the intent)          | octal mode override for written files, e.g. 0440 |
 * | --uid / --gid            | ES_MTLS_UID / ES_MTLS_GID             | (from the intent)          | owner override for written files; -1 = leave as created |
 * | --health-addr            | ES_MTLS_HEALTH_ADDR                   | 0.0.0.0                    | listen address of /healthz /readyz /startupz /status /metrics; the kubelet probes the pod IP, so not 127.0.0.1 in a pod |
 * | --health-port            | ES_MTLS_HEALTH_PORT                   | 8099                       | listen port (0 = any free port, logged at start) |
 * | --probe-url              | ES_MTLS_PROBE_URL                     | ES: https://127.0.0.1:9200, Kibana: http://127.0.0.1:5601 | the local workload to prove against |
 * | --probe-ca               | ES_MTLS_PROBE_CA                      | (none)                     | PEM file to verify the workload's serving cert; unset = do not verify (loopback only) |
 * | --proof-timeout-ms       | ES_MTLS_PROOF_TIMEOUT_MS              | 30000                      | how long one proof keeps retrying (ES re-reads files every 5 s) |
 * | --proof-interval-ms      | ES_MTLS_PROOF_INTERVAL_MS             | 1000                       | pause between proof attempts |
 * | --reprove-interval-ms    | ES_MTLS_REPROVE_INTERVAL_MS           | 60000                      | re-check a proven workload (and retry a failed proof) at this period |
 * | --user-poll-ms           | ES_MTLS_USER_POLL_MS                  | 10000                      | how often a user-provided identity's mounted files are re-read |
 * | --heartbeat-timeout-ms   | ES_MTLS_HEARTBEAT_TIMEOUT_MS          | 3 × the protocol heartbeat | drop and reconnect a stream that has been silent this long |
 * | --backoff-min-ms         | ES_MTLS_BACKOFF_MIN_MS                | 500                        | first reconnect/retry delay (equal jitter, doubling) |
 * | --backoff-max-ms         | ES_MTLS_BACKOFF_MAX_MS                | 30000                      | cap of the reconnect/retry delay |
 * | --request-timeout-ms     | ES_MTLS_REQUEST_TIMEOUT_MS            | 10000                      | timeout of certificate and status requests |
 * | --log-level              | ES_MTLS_LOG_LEVEL                     | info                       | debug, info, warn or error |
 */
import { join } from "node:path";
import { agentEnvName, DEFAULT_AGENT_HEALTH_PORT, DEFAULT_AGENT_TOKEN_FILE } from "../protocol/agent-env.ts";
import { HEARTBEAT_INTERVAL_MS, type Role } from "../protocol/intent.ts";
import { ConfigError } from "./errors.ts";
import type { Level } from "./log.ts";

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

function parseArgs(argv: string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) throw new ConfigError(`unexpected argument "${a}" (options look like --name=value)`);
    const eq = a.indexOf("=");
    if (eq > 0) out.set(a.slice(2, eq), a.slice(eq + 1));
    else if (BOOLEAN.includes(a.slice(2))) out.set(a.slice(2), "true");
    else {
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) throw new ConfigError(`option ${a} needs a value`);
      out.set(a.slice(2), v);
      i++;
    }
  }
  return out;
}

/** Flags that may stand alone (`--once`) meaning true. */
const BOOLEAN = ["once"];

const KNOWN = [
  "controller-url", "controller-ca", "token-file", "role", "dir", "root", "once", "file-mode", "uid", "gid",
  "health-addr", "health-port", "probe-url", "probe-ca", "proof-timeout-ms", "proof-interval-ms",
  "reprove-interval-ms", "user-poll-ms", "heartbeat-timeout-ms", "backoff-min-ms", "backoff-max-ms",
  "request-timeout-ms", "log-level",
];

function parseBool(name: string, v: string | undefined): boolean {
  if (v === undefined || v === "false") return false;
  if (v === "true") return true;
  throw new ConfigError(`--${name}: "${v}" is not true or false`);
}

export function loadConfig(argv: string[], env: Record<string, string | undefined>): AgentConfig {
  const flags = parseArgs(argv);
  for (const k of flags.keys()) if (!KNOWN.includes(k)) throw new ConfigError(`unknown option --${k}`);
  const get = (name: string): string | undefined => {
    const f = flags.get(name);
    if (f !== undefined) return f;
    const e = env[agentEnvName(name)];
    return e === "" ? undefined : e;
  };
  const required = (name: string): string => {
    const v = get(name);
    if (v === undefined) throw new ConfigError(`--${name} (or ${agentEnvName(name)}) is required`);
    return v;
  };
  const int = (name: string, def: number | undefined, min: number): number | undefined => {
    const v = get(name);
    if (v === undefined) return def;
    if (!/^-?\d+$/.test(v)) throw new ConfigError(`--${name}: "${v}" is not an integer`);
    const n = Number(v);
    if (n < min) throw new ConfigError(`--${name}: ${n} is below the minimum ${min}`);
    return n;
  };
  const num = (name: string, def: number, min: number) => int(name, def, min)!;

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
  const level = get("log-level") ?? "info";
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level: "${level}" is not debug, info, warn or error`);
  const probeUrl = get("probe-url") ?? (role === "elasticsearch" ? "https://127.0.0.1:9200" : "http://127.0.0.1:5601");
  try {
    new URL(probeUrl);
  } catch {
    throw new ConfigError(`--probe-url: "${probeUrl}" is not a URL`);
  }
  const dir = get("dir");
  const uid = int("uid", undefined, -1);
  const gid = int("gid", undefined, -1);
  const probeCaFile = get("probe-ca");
  return {
    controllerUrl,
    controllerCaFile: required("controller-ca"),
    tokenFile: get("token-file") ?? DEFAULT_AGENT_TOKEN_FILE,
    role,
    ...(dir !== undefined ? { dir } : {}),
    root: get("root") ?? "/",
    once: parseBool("once", get("once")),
    ...(fileMode !== undefined ? { fileMode } : {}),
    ...(uid !== undefined ? { uid } : {}),
    ...(gid !== undefined ? { gid } : {}),
    healthAddr: get("health-addr") ?? "0.0.0.0",
    healthPort: num("health-port", DEFAULT_AGENT_HEALTH_PORT, 0),
    probeUrl,
    ...(probeCaFile !== undefined ? { probeCaFile } : {}),
    proofTimeoutMs: num("proof-timeout-ms", 30_000, 100),
    proofIntervalMs: num("proof-interval-ms", 1_000, 10),
    reproveIntervalMs: num("reprove-interval-ms", 60_000, 100),
    userPollMs: num("user-poll-ms", 10_000, 100),
    heartbeatTimeoutMs: num("heartbeat-timeout-ms", 3 * HEARTBEAT_INTERVAL_MS, 100),
    backoffMinMs: num("backoff-min-ms", 500, 1),
    backoffMaxMs: num("backoff-max-ms", 30_000, 1),
    requestTimeoutMs: num("request-timeout-ms", 10_000, 100),
    logLevel: level as Level,
  };
}
