/*
 * Controller configuration: flags (`--name=value`), each with an environment
 * variable (ES_MTLS_ + upper-case name with `_`); a flag wins over the variable.
 *
 * | flag | default | meaning |
 * | --- | --- | --- |
 * | --kubeconfig | in-cluster | kubeconfig file; empty = the pod's service account |
 * | --namespace | $POD_NAMESPACE or es-mtls-system | the controller's own namespace (Lease, serving secrets, client CAs) |
 * | --pod-name | $POD_NAME or hostname | this replica's identity in the Lease |
 * | --operator-namespace | elastic-system | ECK's namespace: where it exists, ECK's licence rule applies; absent or empty: no ECK, no licence rule |
 * | --service-name | es-mtls-controller | the Service agents and the kube-apiserver reach the controller by |
 * | --intent-api-port | 8443 | HTTPS port of the intent API (agents) |
 * | --webhook-port | 9443 | HTTPS port of the admission webhooks (kube-apiserver); 0 = off |
 * | --intent-api-address | 0.0.0.0 | listen address of both HTTPS servers and the health server |
 * | --max-streams-per-pod | 4 | open intent streams one pod UID may hold; the next gets 429 too_many_streams |
 * | --intent-api-url | https://<service>.<namespace>.svc:8443 | the intent API's URL as agents reach it (injected into pods) |
 * | --agent-image | ghcr.io/es-mtls/agent:0.1.0 | image of the injected agent |
 * | --sidecar-mode | native | native (init container with restartPolicy Always) or classic (init + sidecar) |
 * | --webhook-failure-policy | Fail | what the pod webhook answers when it cannot decide (match deploy/webhooks.yaml) |
 * | --health-port | 8080 | HTTP port of /healthz, /readyz, /metrics |
 * | --cert-validity | 8760h | lifetime of client certificates (controller's own, Kibana's) |
 * | --agent-cert-validity | 168h | lifetime of certificates signed for Kibana agents (renewed at 2/3; Kibana restarts to load it, so it stays long); it only caps an Elasticsearch pod's, which are 2 h (proof) and 4 h (probe): reconcile/intents.ts |
 * | --cert-rotate-before | 24h | reissue a client certificate this long before it expires |
 * | --ca-cert-validity | 8760h | lifetime of a cluster's client CA |
 * | --ca-cert-rotate-before | 24h | rotate a client CA this long before it expires |
 * | --lease-name | es-mtls-controller | Lease used for leader election |
 * | --lease-duration | 10s | a leader that has not renewed for this long is replaced |
 * | --lease-retry | 2s | how often candidates try and the leader renews |
 * | --resync | 5m | period of a full re-reconcile of every cluster |
 * | --enforce-rbac-on-refs | true | a Kibana or labelled Secret of another namespace counts only if its ServiceAccount may get the Elasticsearch (SubjectAccessReview); false: as ECK's default, any |
 * | --token-audience | mtls.es-mtls.io/intent-api | audience agents' projected tokens must carry |
 * | --es-health-gate | true | evict an Elasticsearch pod only while `GET /_cluster/health` (read from its Ready pods on 9200) says green; false: only the rollout's own gates |
 * | --log-level | info | debug, info, warn, error |
 */
import { hostname } from "node:os";
import { INTENT_API_AUDIENCE } from "../protocol/intent.ts";
import type { Level } from "./log.ts";
import { CONTROLLER_NAME, CONTROLLER_NAMESPACE, INTENT_API_PORT, WEBHOOK_PORT } from "./names.ts";
import { ConfigError } from "./errors.ts";

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

export function loadConfig(argv: string[], env: Record<string, string | undefined> = process.env): ControllerConfig {
  const flags = new Map<string, string>();
  for (const arg of argv) {
    const m = /^--([a-z-]+)=(.*)$/s.exec(arg);
    if (!m) throw new ConfigError(`unexpected argument "${arg}" (flags look like --name=value)`);
    flags.set(m[1]!, m[2]!);
  }
  const known = new Set<string>();
  const get = (name: string, fallback: string): string => {
    known.add(name);
    return flags.get(name) ?? env[`ES_MTLS_${name.toUpperCase().replaceAll("-", "_")}`] ?? fallback;
  };
  const int = (name: string, fallback: number) => {
    const v = Number(get(name, String(fallback)));
    if (!Number.isInteger(v) || v < 0 || v > 65535) throw new ConfigError(`--${name} must be a port number`);
    return v;
  };
  const count = (name: string, fallback: number) => {
    const v = Number(get(name, String(fallback)));
    if (!Number.isInteger(v) || v < 1 || v > 1000) throw new ConfigError(`--${name} must be an integer from 1 to 1000`);
    return v;
  };
  const dur = (name: string, fallback: string) => parseDuration(get(name, fallback), name);
  function oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
    const v = get(name, fallback);
    if (!(allowed as readonly string[]).includes(v)) throw new ConfigError(`--${name} must be one of ${allowed.join(", ")}`);
    return v as T;
  }
  const level = get("log-level", "info");
  if (!["debug", "info", "warn", "error"].includes(level)) throw new ConfigError(`--log-level: unknown level "${level}"`);
  const config: ControllerConfig = {
    kubeconfig: get("kubeconfig", "") || undefined,
    namespace: get("namespace", env.POD_NAMESPACE ?? CONTROLLER_NAMESPACE),
    podName: get("pod-name", env.POD_NAME ?? hostname()),
    operatorNamespace: get("operator-namespace", "elastic-system"),
    serviceName: get("service-name", CONTROLLER_NAME),
    intentApiPort: int("intent-api-port", INTENT_API_PORT),
    webhookPort: int("webhook-port", WEBHOOK_PORT),
    intentApiAddress: get("intent-api-address", "0.0.0.0"),
    intentApiUrl: "",
    maxStreamsPerPod: count("max-streams-per-pod", 4),
    agentImage: get("agent-image", "ghcr.io/es-mtls/agent:0.1.0"),
    sidecarMode: oneOf("sidecar-mode", ["native", "classic"] as const, "native"),
    webhookFailurePolicy: oneOf("webhook-failure-policy", ["Fail", "Ignore"] as const, "Fail"),
    healthPort: int("health-port", 8080),
    certValidityMs: dur("cert-validity", "8760h"),
    certRotateBeforeMs: dur("cert-rotate-before", "24h"),
    agentCertValidityMs: dur("agent-cert-validity", "168h"),
    caCertValidityMs: dur("ca-cert-validity", "8760h"),
    caCertRotateBeforeMs: dur("ca-cert-rotate-before", "24h"),
    leaseName: get("lease-name", CONTROLLER_NAME),
    leaseDurationMs: dur("lease-duration", "10s"),
    leaseRetryMs: dur("lease-retry", "2s"),
    resyncMs: dur("resync", "5m"),
    enforceRbacOnRefs: oneOf("enforce-rbac-on-refs", ["true", "false"] as const, "true") === "true",
    tokenAudience: get("token-audience", INTENT_API_AUDIENCE),
    esHealthGate: oneOf("es-health-gate", ["true", "false"] as const, "true") === "true",
    logLevel: level as Level,
  };
  config.intentApiUrl = get("intent-api-url", `https://${config.serviceName}.${config.namespace}.svc:${config.intentApiPort}`);
  for (const f of flags.keys()) if (!known.has(f)) throw new ConfigError(`unknown flag --${f}`);
  if (config.certRotateBeforeMs >= config.certValidityMs) throw new ConfigError("--cert-rotate-before must be shorter than --cert-validity");
  if (config.caCertRotateBeforeMs >= config.caCertValidityMs) throw new ConfigError("--ca-cert-rotate-before must be shorter than --ca-cert-validity");
  return config;
}
