// The agent container injection adds, speaking the agent's environment contract
// (protocol/agent-env.ts): the same names, default port, token path and file mode the agent reads.
import type { V1Container, V1EnvVar, V1Pod, V1Probe, V1SecurityContext, V1VolumeMount } from "@kubernetes/client-node";
import type { AgentResources } from "../../common/quantity.ts";
import type { Role } from "../../protocol/intent.ts";
import {
  AGENT_CONTROLLER_CA_FILE,
  AGENT_ENV,
  AGENT_SECRETS_DIR,
  DEFAULT_AGENT_HEALTH_PORT,
  DEFAULT_AGENT_TOKEN_FILE,
  MATERIAL_FILE_MODE,
  fileModeText,
} from "../../protocol/agent-env.ts";
import { AGENT_CONTAINER, AGENT_INIT_CONTAINER, AGENT_VOLUME, ES_PROBE_DIR, MATERIAL_VOLUME, NO_API_TOKEN_VOLUME, PROBE_VOLUME, USER_CERT_MOUNT_PATH, USER_CERT_VOLUME } from "../names.ts";
import type { ClusterMode } from "./cluster-mode.ts";
import type { InjectionConfig } from "./injection-config.ts";

const KUBE_API_TOKEN_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/**
 * The native sidecar: an init container with restartPolicy Always, probed on the agent's health port.
 * `resources`: the controller's, or the pod's override of them (agent-resources.ts).
 */
export function agentContainer(pod: V1Pod, workload: V1Container, role: Role, dir: string, mode: ClusterMode, config: InjectionConfig, resources: AgentResources): V1Container {
  const port = config.healthPort ?? DEFAULT_AGENT_HEALTH_PORT;
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
    { name: AGENT_ENV.controllerUrl, value: config.controllerUrl },
    { name: AGENT_ENV.controllerCa, value: AGENT_CONTROLLER_CA_FILE },
    { name: AGENT_ENV.tokenFile, value: DEFAULT_AGENT_TOKEN_FILE },
    { name: AGENT_ENV.role, value: role },
    { name: AGENT_ENV.dir, value: dir },
    { name: AGENT_ENV.fileMode, value: fileModeText(MATERIAL_FILE_MODE) },
    // No chown: the container has no CAP_CHOWN, and files are already owned by the workload's UID.
    { name: AGENT_ENV.uid, value: "-1" },
    { name: AGENT_ENV.gid, value: "-1" },
    { name: AGENT_ENV.healthPort, value: String(port) },
  ];
  const probeUrl = role === "kibana" ? kibanaProbeUrl(workload) : undefined;
  if (probeUrl) env.push({ name: AGENT_ENV.probeUrl, value: probeUrl });
  if (config.logLevel) env.push({ name: AGENT_ENV.logLevel, value: config.logLevel });

  const mounts: V1VolumeMount[] = [
    { name: MATERIAL_VOLUME, mountPath: dir },
    { name: AGENT_VOLUME, mountPath: AGENT_SECRETS_DIR, readOnly: true },
    { name: NO_API_TOKEN_VOLUME, mountPath: KUBE_API_TOKEN_DIR, readOnly: true },
  ];
  if (role === "elasticsearch") mounts.push({ name: PROBE_VOLUME, mountPath: ES_PROBE_DIR });
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
    resources: structuredClone(resources),
    // /startupz, not /readyz: /readyz needs a proof against the workload, which cannot start before this passes.
    startupProbe: probe("/startupz", { periodSeconds: 1, failureThreshold: 600 }),
    readinessProbe: probe("/readyz", { periodSeconds: 5, failureThreshold: 3 }),
    // /healthz never fails because the controller is away, so an outage does not restart agents.
    livenessProbe: probe("/healthz", { periodSeconds: 10, failureThreshold: 6 }),
    terminationMessagePolicy: "FallbackToLogsOnError",
    restartPolicy: "Always",
  };
}

/** Classic mode (kubelets without native sidecars): a one-shot init container (`--once`) plus a plain sidecar. */
export function classicAgentContainers(agent: V1Container): { init: V1Container; sidecar: V1Container } {
  const { startupProbe: _unused, restartPolicy: _always, ...sidecar } = agent;
  const init: V1Container = { ...sidecar, name: AGENT_INIT_CONTAINER, args: ["--once"] };
  delete init.readinessProbe;
  delete init.livenessProbe;
  delete init.ports;
  return { init, sidecar };
}

/** Kibana serves HTTPS by default under ECK; the scheme of its own readiness probe tells which. */
function kibanaProbeUrl(workload: V1Container): string | undefined {
  const scheme = workload.readinessProbe?.httpGet?.scheme;
  if (!scheme) return undefined;
  return `${scheme.toLowerCase()}://127.0.0.1:5601`;
}
