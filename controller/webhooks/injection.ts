// Sidecar injection, as a pure function from a new Pod (and what the controller knows about its
// cluster) to a JSON patch. The webhook calls it on CREATE only; a second pass over its own output
// changes nothing.
//
// What an injected pod gets:
// - the agent, as a native sidecar (init container with restartPolicy Always; its startupProbe on
//   /startupz passes after the first complete write, so the workload starts with its files on
//   disk) or, with sidecarMode "classic", a one-shot init container (`--once`) plus a classic
//   sidecar container;
// - a memory-backed emptyDir mounted (whole directory, never subPath, so updates are visible) in
//   the agent and, read-only, in the workload at ECK's path;
// - one projected volume for the agent only: a service-account token for the intent API's audience
//   with a bounded lifetime (the kubelet refreshes it), and the controller's serving CA. The CA comes
//   from a pod annotation through the downward API, so no per-namespace ConfigMap has to exist
//   before the pod can start and the controller needs no ConfigMap write access anywhere;
// - the workload's settings for the cluster's current phase as environment variables, which the
//   official images turn into settings that win over elasticsearch.yml / kibana.yml.
//
// File access: the agent runs as the workload's UID (container, else pod runAsUser, else the
// official images' 1000) and writes files 0440 without chown (it has no capabilities), so the
// workload reads them as owner; with a pod fsGroup the emptyDir is group-owned and setgid, so the
// group can read them too.
import type { V1Container, V1EnvVar, V1Pod, V1Probe, V1ResourceRequirements, V1SecurityContext, V1Volume, V1VolumeMount } from "@kubernetes/client-node";
import { INTENT_API_AUDIENCE, type ClusterRef, type Enforcement, type Phase, type Role } from "../../protocol/intent.ts";
import {
  AGENT_CONTAINER,
  AGENT_CONTROLLER_CA_FILE,
  AGENT_INIT_CONTAINER,
  AGENT_SECRETS_DIR,
  AGENT_TOKEN_FILE,
  AGENT_VOLUME,
  CONTROLLER_CA_ANNOTATION,
  ECK_TYPE_LABEL,
  ES_BUNDLE_DIR,
  ES_BUNDLE_FILE,
  ES_CLUSTER_LABEL,
  ES_CONTAINER,
  ES_HTTP_CA_FILE,
  INJECTED_ANNOTATION,
  INJECTION_VERSION,
  KIBANA_CERT_DIR,
  KIBANA_CONTAINER,
  KIBANA_NAME_LABEL,
  MATERIAL_VOLUME,
  NO_API_TOKEN_VOLUME,
  USER_CERT_MOUNT_PATH,
  USER_CERT_VOLUME,
} from "../names.ts";

/** What the controller knows about the pod's cluster; `undefined` means "not an mTLS cluster". */
export interface ClusterMode {
  /** The Elasticsearch cluster (for a Kibana pod: the one its elasticsearchRef names). */
  cluster: ClusterRef;
  role: Role;
  phase: Phase;
  enforcement: Enforcement;
  /** Kibana `elasticsearchRef.clientCertificateSecretName` (in the Kibana namespace). */
  kibanaUserSecret?: string;
  /**
   * Elasticsearch: `xpack.security.http.ssl.certificate_authorities` the user set in the pod's nodeSet
   * config. As in ECK they replace the HTTP CA default, and the trust bundle is appended.
   */
  userCertificateAuthorities?: string[];
}

export type SidecarMode = "native" | "classic";

export interface InjectionConfig {
  /** Pods in this namespace are never injected (the controller's own). */
  controllerNamespace: string;
  agentImage: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  /** Base URL of the intent API as agents reach it, e.g. https://es-mtls-controller.es-mtls-system.svc:8443. */
  controllerUrl: string;
  /** PEM of the CA (or CAs, during a rotation) that signs the intent API's serving certificate. */
  controllerCaPem: string;
  /** Default "native"; "classic" for kubelets without native sidecars (before 1.29). */
  sidecarMode?: SidecarMode;
  /** Lifetime of the agent's projected token; default 3600, clamped to [600, 86400]. */
  tokenExpirationSeconds?: number;
  resources?: V1ResourceRequirements;
  /** Agent health port; default 8099. */
  healthPort?: number;
  /** UID the agent runs as when neither the workload container nor the pod sets one; default 1000. */
  defaultWorkloadUid?: number;
  logLevel?: "debug" | "info" | "warn" | "error";
}

export interface JsonPatchOp {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

/** The value of the INJECTED_ANNOTATION (JSON). */
export interface InjectionRecord {
  version: number;
  sidecar: SidecarMode;
  role: Role;
  /** "<namespace>/<name>" of the Elasticsearch cluster. */
  cluster: string;
  phase: Phase;
  enforcement: Enforcement;
  /** Environment variables set on the workload container. */
  settings: Record<string, string>;
  /** The user's environment variables that named the same settings and were replaced. */
  overridden: string[];
}

export interface InjectionResult {
  patch: JsonPatchOp[];
  skipped?: string;
  record?: InjectionRecord;
}

export const DEFAULT_TOKEN_EXPIRATION_SECONDS = 3600;
export const DEFAULT_HEALTH_PORT = 8099;
/** Small: the agent is idle almost all the time (sidecar-anchors.md §6 target). */
export const DEFAULT_AGENT_RESOURCES: V1ResourceRequirements = {
  requests: { cpu: "10m", memory: "48Mi" },
  limits: { cpu: "200m", memory: "128Mi" },
};
/** Files in the shared volume: owner and group read, nobody writes (the agent swaps whole directories). */
export const MATERIAL_FILE_MODE = "0440";

/** Phases in which pods carry the agent and the settings; Disabled and Blocked leave pods alone. */
const INJECTED_PHASES: ReadonlySet<Phase> = new Set(["Enabling", "Enabled", "Disabling"]);

const KUBE_API_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";
const ES_CLIENT_AUTH = "xpack.security.http.ssl.client_authentication";
const ES_CERTIFICATE_AUTHORITIES = "xpack.security.http.ssl.certificate_authorities";
const KIBANA_CERTIFICATE = "ELASTICSEARCH_SSL_CERTIFICATE";
const KIBANA_KEY = "ELASTICSEARCH_SSL_KEY";
const KIBANA_ALWAYS_PRESENT = "ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE";

export function injectPod(pod: V1Pod, mode: ClusterMode | undefined, config: InjectionConfig): InjectionResult {
  const skip = (skipped: string): InjectionResult => ({ patch: [], skipped });
  if (!mode) return skip("not a pod of a cluster with client authentication");
  const namespace = pod.metadata?.namespace ?? "";
  if (namespace === config.controllerNamespace) return skip(`pods of the controller's namespace ${namespace} are never injected`);
  const labels = pod.metadata?.labels ?? {};
  const podRole = roleOf(labels);
  if (!podRole) return skip("not an Elasticsearch or Kibana pod managed by ECK (labels)");
  if (isInjected(pod)) return skip("already injected");
  if (podRole !== mode.role) return skip(`pod is a ${podRole} pod, the cluster mode is for ${mode.role}`);
  if (podRole === "elasticsearch" && (labels[ES_CLUSTER_LABEL] !== mode.cluster.name || namespace !== mode.cluster.namespace)) {
    return skip(`pod belongs to Elasticsearch ${namespace}/${labels[ES_CLUSTER_LABEL]}, not ${mode.cluster.namespace}/${mode.cluster.name}`);
  }
  if (!INJECTED_PHASES.has(mode.phase)) return skip(`cluster phase is ${mode.phase}: nothing to inject`);

  const containers = pod.spec?.containers ?? [];
  const workloadName = podRole === "elasticsearch" ? ES_CONTAINER : KIBANA_CONTAINER;
  const workloadIndex = containers.findIndex((c) => c.name === workloadName);
  if (workloadIndex < 0) return skip(`no container named ${workloadName}`);
  const workload = containers[workloadIndex]!;
  const dir = podRole === "elasticsearch" ? ES_BUNDLE_DIR : KIBANA_CERT_DIR;
  const clash = (workload.volumeMounts ?? []).find((m) => trimSlash(m.mountPath) === dir);
  if (clash) return skip(`${dir} is already mounted (volume ${clash.name}); is ECK's own client certificate feature on?`);
  const ours = new Set([MATERIAL_VOLUME, AGENT_VOLUME, USER_CERT_VOLUME, NO_API_TOKEN_VOLUME]);
  const taken = (pod.spec?.volumes ?? []).find((v) => ours.has(v.name));
  if (taken) return skip(`the pod already has a volume named ${taken.name}`);

  const settings = podRole === "elasticsearch" ? elasticsearchSettings(mode) : kibanaSettings();
  const { env, overridden } = mergeEnv(workload.env ?? [], settings, podRole);
  const sidecar = config.sidecarMode ?? "native";
  const record: InjectionRecord = {
    version: INJECTION_VERSION,
    sidecar,
    role: podRole,
    cluster: `${mode.cluster.namespace}/${mode.cluster.name}`,
    phase: mode.phase,
    enforcement: mode.enforcement,
    settings,
    overridden,
  };

  const agent = agentContainer(pod, workload, podRole, dir, mode, config);
  const volumes: V1Volume[] = [
    { name: MATERIAL_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "4Mi" } },
    {
      name: AGENT_VOLUME,
      projected: {
        sources: [
          { serviceAccountToken: { audience: INTENT_API_AUDIENCE, expirationSeconds: tokenLifetime(config), path: "token" } },
          { downwardAPI: { items: [{ path: "controller-ca.crt", fieldRef: { fieldPath: `metadata.annotations['${CONTROLLER_CA_ANNOTATION}']` } }] } },
        ],
      },
    },
    // Mounted over the API-token path in the agent: the ServiceAccount admission plugin then leaves the
    // agent without the pod's kube-apiserver credentials (it needs none).
    { name: NO_API_TOKEN_VOLUME, emptyDir: { medium: "Memory", sizeLimit: "1Ki" } },
  ];
  if (podRole === "kibana" && mode.kibanaUserSecret) volumes.push({ name: USER_CERT_VOLUME, secret: { secretName: mode.kibanaUserSecret } });

  const patch: JsonPatchOp[] = [];
  const annotations = { [INJECTED_ANNOTATION]: JSON.stringify(record), [CONTROLLER_CA_ANNOTATION]: config.controllerCaPem };
  if (pod.metadata?.annotations) {
    for (const [k, v] of Object.entries(annotations)) patch.push({ op: "add", path: `/metadata/annotations/${escapePointer(k)}`, value: v });
  } else patch.push({ op: "add", path: "/metadata/annotations", value: annotations });

  if (sidecar === "native") {
    appendAll(patch, "/spec/initContainers", pod.spec?.initContainers, [agent]);
  } else {
    const { startupProbe: _unused, restartPolicy: _always, ...classic } = agent;
    const init: V1Container = { ...classic, name: AGENT_INIT_CONTAINER, args: ["--once"] };
    delete init.readinessProbe;
    delete init.livenessProbe;
    delete init.ports;
    appendAll(patch, "/spec/initContainers", pod.spec?.initContainers, [init]);
    appendAll(patch, "/spec/containers", containers, [classic]);
  }
  appendAll(patch, "/spec/volumes", pod.spec?.volumes, volumes);
  const base = `/spec/containers/${workloadIndex}`;
  appendAll(patch, `${base}/volumeMounts`, workload.volumeMounts, [{ name: MATERIAL_VOLUME, mountPath: dir, readOnly: true }]);
  patch.push({ op: workload.env ? "replace" : "add", path: `${base}/env`, value: env });
  return { patch, record };
}

/** True when the pod carries the injection annotation or an agent container (e.g. added by hand). */
export function isInjected(pod: V1Pod): boolean {
  if (pod.metadata?.annotations?.[INJECTED_ANNOTATION] !== undefined) return true;
  const names = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].map((c) => c.name);
  return names.includes(AGENT_CONTAINER) || names.includes(AGENT_INIT_CONTAINER);
}

/** The role ECK's labels give the pod, if it is an Elasticsearch or Kibana pod. */
export function roleOf(labels: Record<string, string>): Role | undefined {
  const type = labels[ECK_TYPE_LABEL];
  if (labels[ES_CLUSTER_LABEL] && (type === undefined || type === "elasticsearch")) return "elasticsearch";
  if (labels[KIBANA_NAME_LABEL] && (type === undefined || type === "kibana")) return "kibana";
  return undefined;
}

/** Parses the injection annotation; undefined when absent or not ours. */
export function injectionRecord(pod: V1Pod): InjectionRecord | undefined {
  const raw = pod.metadata?.annotations?.[INJECTED_ANNOTATION];
  if (raw === undefined) return undefined;
  try {
    const parsed = JSON.parse(raw) as InjectionRecord;
    return typeof parsed === "object" && parsed !== null && typeof parsed.version === "number" ? parsed : undefined;
  } catch {
    return undefined;
  }
}

function elasticsearchSettings(mode: ClusterMode): Record<string, string> {
  // The bundle path is configured in every injected phase (not only under `required`), so a toggle
  // changes client_authentication alone. The value is comma-separated: ES splits list settings given as
  // environment variables on commas.
  const cas = [...(mode.userCertificateAuthorities?.length ? mode.userCertificateAuthorities : [ES_HTTP_CA_FILE]), `${ES_BUNDLE_DIR}/${ES_BUNDLE_FILE}`];
  return { [ES_CLIENT_AUTH]: mode.enforcement, [ES_CERTIFICATE_AUTHORITIES]: cas.join(",") };
}

function kibanaSettings(): Record<string, string> {
  return {
    [KIBANA_CERTIFICATE]: `${KIBANA_CERT_DIR}/tls.crt`,
    [KIBANA_KEY]: `${KIBANA_CERT_DIR}/tls.key`,
    // Without it Kibana omits the certificate on requests it proxies for users, which `required` refuses.
    [KIBANA_ALWAYS_PRESENT]: "true",
  };
}

/**
 * The workload's env with our settings appended and every user entry naming the same setting dropped
 * (including ES's `ES_SETTING_…` spelling), so exactly one value reaches the process.
 */
function mergeEnv(current: V1EnvVar[], settings: Record<string, string>, role: Role): { env: V1EnvVar[]; overridden: string[] } {
  const owned = new Set(Object.keys(settings));
  const names = (e: V1EnvVar) => (role === "elasticsearch" ? esSettingName(e.name) : e.name);
  const kept = current.filter((e) => !owned.has(names(e)));
  const overridden = [...new Set(current.filter((e) => owned.has(names(e))).map((e) => e.name))];
  return { env: [...kept, ...Object.entries(settings).map(([name, value]) => ({ name, value }))], overridden };
}

/** The setting an environment variable names in the ES image (es-kibana-tls-behaviour.md §6). */
function esSettingName(env: string): string {
  if (!env.startsWith("ES_SETTING_")) return env;
  return env.slice("ES_SETTING_".length).replace(/__/g, "\0").replace(/_/g, ".").replace(/\0/g, "_").toLowerCase();
}

function agentContainer(pod: V1Pod, workload: V1Container, role: Role, dir: string, mode: ClusterMode, config: InjectionConfig): V1Container {
  const port = config.healthPort ?? DEFAULT_HEALTH_PORT;
  const uid = workload.securityContext?.runAsUser ?? pod.spec?.securityContext?.runAsUser;
  const gid = workload.securityContext?.runAsGroup ?? pod.spec?.securityContext?.runAsGroup;
  const securityContext: V1SecurityContext = {
    runAsNonRoot: true,
    // The workload's UID, so the files it reads are its own; never root.
    runAsUser: uid === undefined || uid === 0 ? (config.defaultWorkloadUid ?? 1000) : uid,
    ...(gid !== undefined && gid !== 0 ? { runAsGroup: gid } : {}),
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
  const env: V1EnvVar[] = [
    { name: "ES_MTLS_CONTROLLER_URL", value: config.controllerUrl },
    { name: "ES_MTLS_CONTROLLER_CA", value: AGENT_CONTROLLER_CA_FILE },
    { name: "ES_MTLS_TOKEN_FILE", value: AGENT_TOKEN_FILE },
    { name: "ES_MTLS_ROLE", value: role },
    { name: "ES_MTLS_DIR", value: dir },
    { name: "ES_MTLS_FILE_MODE", value: MATERIAL_FILE_MODE },
    // No chown: the container has no CAP_CHOWN, and files are already owned by the workload's UID.
    { name: "ES_MTLS_UID", value: "-1" },
    { name: "ES_MTLS_GID", value: "-1" },
    { name: "ES_MTLS_HEALTH_PORT", value: String(port) },
  ];
  const probeUrl = role === "kibana" ? kibanaProbeUrl(workload) : undefined;
  if (probeUrl) env.push({ name: "ES_MTLS_PROBE_URL", value: probeUrl });
  if (config.logLevel) env.push({ name: "ES_MTLS_LOG_LEVEL", value: config.logLevel });

  const mounts: V1VolumeMount[] = [
    { name: MATERIAL_VOLUME, mountPath: dir },
    { name: AGENT_VOLUME, mountPath: AGENT_SECRETS_DIR, readOnly: true },
    { name: NO_API_TOKEN_VOLUME, mountPath: KUBE_API_TOKEN_DIR, readOnly: true },
  ];
  if (role === "kibana" && mode.kibanaUserSecret) mounts.push({ name: USER_CERT_VOLUME, mountPath: USER_CERT_MOUNT_PATH, readOnly: true });

  const probe = (path: string, extra: Partial<V1Probe>): V1Probe => ({ httpGet: { path, port, scheme: "HTTP" }, timeoutSeconds: 2, ...extra });
  return {
    name: AGENT_CONTAINER,
    image: config.agentImage,
    imagePullPolicy: config.imagePullPolicy ?? "IfNotPresent",
    env,
    ports: [{ name: "mtls-health", containerPort: port, protocol: "TCP" }],
    volumeMounts: mounts,
    securityContext,
    resources: config.resources ?? DEFAULT_AGENT_RESOURCES,
    // /startupz, not /readyz: /readyz needs a proof against the workload, which cannot start before this passes.
    startupProbe: probe("/startupz", { periodSeconds: 1, failureThreshold: 600 }),
    readinessProbe: probe("/readyz", { periodSeconds: 5, failureThreshold: 3 }),
    // /healthz never fails because the controller is away, so an outage does not restart agents.
    livenessProbe: probe("/healthz", { periodSeconds: 10, failureThreshold: 6 }),
    terminationMessagePolicy: "FallbackToLogsOnError",
    restartPolicy: "Always",
  };
}

/** Kibana serves HTTPS by default under ECK; the scheme of its own readiness probe tells which. */
function kibanaProbeUrl(workload: V1Container): string | undefined {
  const scheme = workload.readinessProbe?.httpGet?.scheme;
  if (!scheme) return undefined;
  return `${scheme.toLowerCase()}://127.0.0.1:5601`;
}

function tokenLifetime(config: InjectionConfig): number {
  const want = config.tokenExpirationSeconds ?? DEFAULT_TOKEN_EXPIRATION_SECONDS;
  // 600 s is the apiserver's minimum; a day bounds what a leaked token is worth.
  return Math.min(86_400, Math.max(600, Math.floor(want)));
}

function appendAll<T>(patch: JsonPatchOp[], path: string, existing: T[] | undefined, items: T[]): void {
  if (existing === undefined) {
    patch.push({ op: "add", path, value: items });
    return;
  }
  for (const item of items) patch.push({ op: "add", path: `${path}/-`, value: item });
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}
