// The agent's environment contract: the ES_MTLS_* variables the injection webhook sets
// and the agent reads, with the defaults both sides must agree on. One home, imported
// by both, so the port, the token path or the file mode cannot drift apart.

/** `--name` flag ↔ `ES_MTLS_NAME` variable. */
export function agentEnvName(flag: string): string {
  return "ES_MTLS_" + flag.toUpperCase().replace(/-/g, "_");
}

export const AGENT_ENV = {
  controllerUrl: agentEnvName("controller-url"),
  controllerCa: agentEnvName("controller-ca"),
  tokenFile: agentEnvName("token-file"),
  role: agentEnvName("role"),
  dir: agentEnvName("dir"),
  once: agentEnvName("once"),
  root: agentEnvName("root"),
  fileMode: agentEnvName("file-mode"),
  uid: agentEnvName("uid"),
  gid: agentEnvName("gid"),
  healthAddr: agentEnvName("health-addr"),
  healthPort: agentEnvName("health-port"),
  probeUrl: agentEnvName("probe-url"),
  probeCa: agentEnvName("probe-ca"),
  logLevel: agentEnvName("log-level"),
} as const;

/** The agent's health/metrics port (/healthz /readyz /startupz /status /metrics). */
export const DEFAULT_AGENT_HEALTH_PORT = 8099;
/** Where the projected service-account token for the intent API is mounted in the agent. */
export const AGENT_SECRETS_DIR = "/var/run/secrets/es-mtls";
export const DEFAULT_AGENT_TOKEN_FILE = `${AGENT_SECRETS_DIR}/token`;
export const AGENT_CONTROLLER_CA_FILE = `${AGENT_SECRETS_DIR}/controller-ca.crt`;
/** Files in the shared volume: owner and group read, nobody writes (whole directories are swapped). */
export const MATERIAL_FILE_MODE = 0o440;
/** Octal text of a mode as the agent's --file-mode takes it, e.g. "0440". */
export function fileModeText(mode: number): string {
  return "0" + mode.toString(8);
}
