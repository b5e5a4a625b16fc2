// How the controller is set up to inject agents (flags in controller/config.ts), read per request.
import type { AgentResources } from "../../common/quantity.ts";
import type { SidecarMode } from "../policy/injection-record.ts";

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
  /** The agent's requests and limits (--agent-* flags); a pod's annotation may override them (agent-resources.ts). */
  resources: AgentResources;
  /** Agent health port; default DEFAULT_AGENT_HEALTH_PORT (protocol/agent-env.ts). */
  healthPort?: number;
  /** UID the agent runs as when neither the workload container nor the pod sets one; default 1000. */
  defaultWorkloadUid?: number;
  logLevel?: "debug" | "info" | "warn" | "error";
}
