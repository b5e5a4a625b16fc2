// Controller configuration: CONTROLLER_FLAGS is the one specification of its flags, from which
// common/flags.ts parses the command line, common/usage.ts prints --help and
// scripts/readme-flags.ts writes the README's table. Each flag also reads its environment variable
// (ES_MTLS_ + the upper-case name with `_`); a flag wins over the variable.
import { hostname } from "node:os";
import { parseCommandLine, type CommandLine, type Flag } from "../common/flags.ts";
import { limitBelowRequest, parseQuantity, type AgentResources } from "../common/quantity.ts";
import { INTENT_API_AUDIENCE } from "../protocol/intent.ts";
import type { Level } from "./log.ts";
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE, INTENT_API_PORT, WEBHOOK_PORT } from "./names.ts";
import { ConfigError } from "./errors.ts";

const flag = (name: string, dflt: string | { shown: string; default?: string }, description: string): Flag => ({
  name,
  ...(typeof dflt === "string" ? { default: dflt } : dflt),
  env: `ES_MTLS_${name.toUpperCase().replaceAll("-", "_")}`,
  description,
});

export const CONTROLLER_FLAGS: readonly Flag[] = [
  flag("kubeconfig", { shown: "in-cluster", default: "" }, "kubeconfig file; empty = the pod's service account"),
  flag("namespace", { shown: `$POD_NAMESPACE or ${CONTROLLER_NAMESPACE}` }, `the controller's namespace (Lease, serving Secret, every cluster's client CA; deploy/rbac.yaml's Roles name ${CONTROLLER_NAMESPACE}: change them with it)`),
  flag("pod-name", { shown: "$POD_NAME or hostname" }, "this replica's identity in the Lease"),
  flag("operator-namespace", "elastic-system", "ECK's namespace: where it exists, ECK's license rule applies (its `elastic-licensing` ConfigMap, readable with `deploy/eck/`); where it does not, no license is needed; empty = no ECK, nothing read (see *License*)"),
  flag("service-name", CONTROLLER_NAME, "the Service agents and the kube-apiserver reach the controller by (serving certificate names)"),
  flag("intent-api-port", String(INTENT_API_PORT), "HTTPS port of the intent API (agents)"),
  flag("webhook-port", String(WEBHOOK_PORT), "HTTPS port of the admission webhooks (kube-apiserver); 0 = off"),
  flag("intent-api-address", "0.0.0.0", "listen address of both HTTPS servers and the health server"),
  flag("intent-api-url", { shown: "https://<service-name>.<namespace>.svc:<intent-api-port>" }, "the intent API as agents reach it (injected into pods)"),
  flag("max-streams-per-pod", "4", "open intent streams one pod UID may hold (1 to 1000); the next gets 429 `too_many_streams`"),
  flag("health-port", "8080", "HTTP port of `/healthz`, `/readyz`, `/metrics`"),
  flag("agent-image", "ghcr.io/es-mtls/agent:0.1.0", "image of the injected agent"),
  flag("agent-cpu-request", "10m", "the injected agent's CPU request: it is idle but for a write or a proof now and then"),
  flag(
    "agent-memory-request",
    "80Mi",
    "the injected agent's memory request: its idle RSS measures ~54 MiB on the Bun binary, ~65 MiB on Deno (*Performance*), so 80Mi covers either with headroom. A pod's `mtls.es-mtls.io/agent-resources` annotation overrides the four (*Sidecar injection*)",
  ),
  flag("agent-cpu-limit", "200m", "the injected agent's CPU limit (at least --agent-cpu-request): caps its bursts (a key pair, a write, a proof) next to the workload"),
  flag("agent-memory-limit", "160Mi", "the injected agent's memory limit (at least --agent-memory-request): the kernel kills the agent above it, so twice the request leaves room over the idle RSS (no peak is measured yet)"),
  flag("sidecar-mode", "native", "`native` (init container with restartPolicy Always) or `classic` (init + sidecar, for kubelets before 1.29)"),
  flag("webhook-failure-policy", "Fail", "`Fail` or `Ignore`: the pod webhook's answer when it cannot decide; match deploy/webhooks.yaml"),
  flag("cert-validity", "8760h", "lifetime of the controller's own client certificate (as ECK's flag)"),
  flag("cert-rotate-before", "24h", "reissue the controller's own client certificate this long before it expires; shorter than --cert-validity"),
  flag(
    "agent-cert-validity",
    "168h",
    "certificates signed for Kibana agents' CSRs: agents renew at 2/3 (±10 %), and a Kibana restarts to load its renewed one, so a renewal costs a Kibana restart and the lifetime stays long. An Elasticsearch pod's identities are capped far lower (proof identity 2 h, renewed at 2/3; probe identity 4 h, renewed at 1/2: reconcile/intents.ts), and this flag caps them too when it is shorter. Certificates are not revoked: a Kibana pod's outlives it by up to this validity, an Elasticsearch pod's by at most 4 h. Each pod may have 5 signed at once, then one a minute (429 `rate_limited`)",
  ),
  flag("ca-cert-validity", "8760h", "lifetime of a cluster's client CA"),
  flag("ca-cert-rotate-before", "24h", "rotate a client CA this long before it expires; shorter than --ca-cert-validity"),
  flag("lease-name", CONTROLLER_NAME, "the Lease of leader election"),
  flag("lease-duration", "10s", "a leader that has not renewed for this long is replaced"),
  flag("lease-retry", "2s", "how often candidates try and the leader renews"),
  flag("resync", "5m", "period of a full re-reconcile of every cluster"),
  flag(
    "enforce-rbac-on-refs",
    "true",
    "a Kibana or labelled Secret of another namespace counts only if its ServiceAccount may `get` the Elasticsearch (SubjectAccessReview); `false`: any, as ECK's default",
  ),
  flag("token-audience", INTENT_API_AUDIENCE, "audience agents' projected tokens must carry"),
  flag(
    "es-health-gate",
    "true",
    "evict an Elasticsearch pod only while its cluster's `GET /_cluster/health` (read from its Ready pods on 9200) says green; `false`: only the rollout's own gates (tests whose pods run no Elasticsearch)",
  ),
  flag("log-level", "info", "`debug`, `info`, `warn` or `error`: structured JSON logs on stderr"),
];

export interface ControllerConfig {
  kubeconfig?: string;
  namespace: string;
  podName: string;
  operatorNamespace: string;
  serviceName: string;
  intentApiPort: number;
  webhookPort: number;
  intentApiAddress: string;
  intentApiUrl: string;
  maxStreamsPerPod: number;
  agentImage: string;
  /** Every injected agent's requests and limits, unless its pod's annotation overrides them. */
  agentResources: AgentResources;
  sidecarMode: "native" | "classic";
  webhookFailurePolicy: "Fail" | "Ignore";
  healthPort: number;
  certValidityMs: number;
  certRotateBeforeMs: number;
  agentCertValidityMs: number;
  caCertValidityMs: number;
  caCertRotateBeforeMs: number;
  leaseName: string;
  leaseDurationMs: number;
  leaseRetryMs: number;
  resyncMs: number;
  enforceRbacOnRefs: boolean;
  tokenAudience: string;
  esHealthGate: boolean;
  logLevel: Level;
}

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go-style durations as ECK's flags take them: "8760h", "24h", "1h30m", "500ms". */
function parseDuration(text: string, flag: string): number {
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (!parts.length || parts.map((p) => p[0]).join("") !== text) {
    throw new ConfigError(`--${flag}: "${text}" is not a duration (e.g. 24h, 90m, 10s)`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** The command line's words for what is wrong with it. */
function commandLineError(line: Extract<CommandLine, { ok: false }>): ConfigError {
  if (line.problem === "unknown") return new ConfigError(`unknown flag ${line.arg}`);
  if (line.problem === "needs-value") return new ConfigError(`flag ${line.arg} needs a value`);
  return new ConfigError(`unexpected argument "${line.arg}" (flags look like --name=value)`);
}

export function loadConfig(argv: string[], env: Record<string, string | undefined> = process.env): ControllerConfig {
  const line = parseCommandLine(CONTROLLER_FLAGS, argv);
  if (!line.ok) throw commandLineError(line);
  /** The flag, else its variable, else the specification's default, else `computed` (a default worked out here). */
  const get = (name: string, computed?: string): string => {
    const f = CONTROLLER_FLAGS.find((f) => f.name === name)!;
    const v = line.values.get(name) ?? env[f.env!] ?? f.default ?? computed;
    if (v === undefined) throw new ConfigError(`--${name} has no default`);
    return v;
  };
  const int = (name: string) => {
    const v = Number(get(name));
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new ConfigError(`--${name} must be a port number`);
    return v;
  };
  const count = (name: string) => {
    const v = Number(get(name));
    if (!Number.isInteger(v) || v < 1 || v > 1000) throw new ConfigError(`--${name} must be an integer from 1 to 1000`);
    return v;
  };
  const dur = (name: string) => parseDuration(get(name), name);
  function oneOf<T extends string>(name: string, allowed: readonly T[]): T {
    const v = get(name);
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`--${name} must be one of ${allowed.join(", ")}`);
    return v as T;
  }
  const quantity = (name: string) => {
    const v = get(name);
    if (parseQuantity(v) === undefined) throw new ConfigError(`--${name}: "${v}" is not a Kubernetes quantity (e.g. 80Mi, 1Gi, 10m, 0.5)`);
    return v;
  };
  const level = get("log-level");
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level: unknown level "${level}"`);
  const config: ControllerConfig = {
    kubeconfig: get("kubeconfig") || undefined,
    namespace: get("namespace", env.POD_NAMESPACE ?? CONTROLLER_NAMESPACE),
    podName: get("pod-name", env.POD_NAME ?? hostname()),
    operatorNamespace: get("operator-namespace"),
    serviceName: get("service-name"),
    intentApiPort: int("intent-api-port"),
    webhookPort: int("webhook-port"),
    intentApiAddress: get("intent-api-address"),
    intentApiUrl: "",
    maxStreamsPerPod: count("max-streams-per-pod"),
    agentImage: get("agent-image"),
    agentResources: {
      requests: { cpu: quantity("agent-cpu-request"), memory: quantity("agent-memory-request") },
      limits: { cpu: quantity("agent-cpu-limit"), memory: quantity("agent-memory-limit") },
    },
    sidecarMode: oneOf("sidecar-mode", ["native", "classic"] as const),
    webhookFailurePolicy: oneOf("webhook-failure-policy", ["Fail", "Ignore"] as const),
    healthPort: int("health-port"),
    certValidityMs: dur("cert-validity"),
    certRotateBeforeMs: dur("cert-rotate-before"),
    agentCertValidityMs: dur("agent-cert-validity"),
    caCertValidityMs: dur("ca-cert-validity"),
    caCertRotateBeforeMs: dur("ca-cert-rotate-before"),
    leaseName: get("lease-name"),
    leaseDurationMs: dur("lease-duration"),
    leaseRetryMs: dur("lease-retry"),
    resyncMs: dur("resync"),
    enforceRbacOnRefs: oneOf("enforce-rbac-on-refs", ["true", "false"] as const) === "true",
    tokenAudience: get("token-audience"),
    esHealthGate: oneOf("es-health-gate", ["true", "false"] as const) === "true",
    logLevel: level as Level,
  };
  config.intentApiUrl = get("intent-api-url", `https://${config.serviceName}.${config.namespace}.svc:${config.intentApiPort}`);
  if (config.certRotateBeforeMs >= config.certValidityMs) throw new ConfigError("--cert-rotate-before must be shorter than --cert-validity");
  if (config.caCertRotateBeforeMs >= config.caCertValidityMs) throw new ConfigError("--ca-cert-rotate-before must be shorter than --ca-cert-validity");
  // The apiserver refuses a container whose limit is below its request: caught here, not on every pod.
  const below = limitBelowRequest(config.agentResources);
  if (below) throw new ConfigError(`--agent-${below.resource}-limit (${below.limit}) is below --agent-${below.resource}-request (${below.request})`);
  return config;
}
