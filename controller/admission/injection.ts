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
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import type { Role } from "../../protocol/intent.ts";
import {
  CONTROLLER_CA_ANNOTATION,
  ECK_TYPE_LABEL,
  ES_BUNDLE_DIR,
  ES_CLUSTER_LABEL,
  ES_CONTAINER,
  INJECTED_ANNOTATION,
  INJECTION_VERSION,
  KIBANA_CERT_DIR,
  KIBANA_CONTAINER,
  KIBANA_NAME_LABEL,
  MATERIAL_VOLUME,
  ES_PROBE_DIR,
  PROBE_VOLUME,
} from "../names.ts";
import { isActive } from "../policy/phases.ts";
import { isInjected, type InjectionRecord } from "../policy/injection-record.ts";
import type { InjectionConfig } from "./injection-config.ts";
import type { ClusterMode } from "./cluster-mode.ts";
import { agentContainer, classicAgentContainers } from "./agent-container.ts";
import { agentVolumes, INJECTED_VOLUMES } from "./agent-volumes.ts";
import { agentResourcesFor } from "./agent-resources.ts";
import { mergeEnv, workloadSettings } from "./workload-settings.ts";
import { addEntries, appendAll, type JsonPatchOp } from "./json-patch.ts";

/** Injected volumes the workload container itself reads (its material, the probe folder). */
const WORKLOAD_READS: ReadonlySet<string> = new Set([MATERIAL_VOLUME, PROBE_VOLUME]);

export interface InjectionResult {
  patch: JsonPatchOp[];
  skipped?: string;
  /** The pod must not be admitted: a container of its own mounts a volume injection adds (issue 18 finding 3). */
  refused?: string;
  record?: InjectionRecord;
  /** For the admission response and the log: what was not applied, the pod admitted all the same. */
  warnings?: string[];
}

/** Where the workload sits in the pod, once the pod is found eligible. */
interface Target {
  role: Role;
  workload: V1Container;
  workloadIndex: number;
  /** ECK's mount point of the material for this role. */
  dir: string;
}

export function injectPod(pod: V1Pod, mode: ClusterMode | undefined, config: InjectionConfig): InjectionResult {
  const target = eligibility(pod, mode, config);
  if (!target.ok) return target.refused ? { patch: [], refused: target.reason } : { patch: [], skipped: target.reason };
  const { role, workload } = target;
  const settings = workloadSettings(role, target.mode, workload.env ?? []);
  const { env, overridden } = mergeEnv(workload.env ?? [], settings, role);
  const record: InjectionRecord = {
    version: INJECTION_VERSION,
    sidecar: config.sidecarMode ?? "native",
    role,
    cluster: `${target.mode.cluster.namespace}/${target.mode.cluster.name}`,
    phase: target.mode.phase,
    enforcement: target.mode.enforcement,
    settings,
    overridden,
  };
  const resources = agentResourcesFor(pod.metadata?.annotations, config.resources);
  if (resources.ignored) record.agentResourcesIgnored = resources.ignored;
  const agent = agentContainer(pod, target.workload, role, target.dir, target.mode, config, resources.resources);
  const patch = injectionPatch(pod, target, target.mode, config, record, env, agent);
  return { patch, record, ...(resources.ignored ? { warnings: [`es-mtls: ${resources.ignored}`] } : {}) };
}

/** Why a pod is left alone, or where its workload is. */
function eligibility(pod: V1Pod, mode: ClusterMode | undefined, config: InjectionConfig): ({ ok: true; mode: ClusterMode } & Target) | { ok: false; reason: string; refused?: true } {
  const skip = (reason: string) => ({ ok: false as const, reason });
  if (!mode) return skip("not a pod of a cluster with client authentication");
  const namespace = pod.metadata?.namespace ?? "";
  if (namespace === config.controllerNamespace) return skip(`pods of the controller's namespace ${namespace} are never injected`);
  const labels = pod.metadata?.labels ?? {};
  const role = roleOf(labels);
  if (!role) return skip("not an Elasticsearch or Kibana pod managed by ECK (labels)");
  if (isInjected(pod)) return skip("already injected");
  if (role !== mode.role) return skip(`pod is a ${role} pod, the cluster mode is for ${mode.role}`);
  if (role === "elasticsearch" && (labels[ES_CLUSTER_LABEL] !== mode.cluster.name || namespace !== mode.cluster.namespace)) {
    return skip(`pod belongs to Elasticsearch ${namespace}/${labels[ES_CLUSTER_LABEL]}, not ${mode.cluster.namespace}/${mode.cluster.name}`);
  }
  if (!isActive(mode.phase)) return skip(`cluster phase is ${mode.phase}: nothing to inject`);
  // A run-to-completion pod (a Job's: the Kibana chart's hook Jobs, should they carry the labels) is
  // left alone: a classic sidecar never exits and would hold the Job open, no ReplicaSet re-creates
  // it for a restart, and whatever it runs reads no certificate es-mtls could give it (README:
  // the Kibana chart's hook Jobs).
  const restartPolicy = pod.spec?.restartPolicy ?? "Always";
  if (restartPolicy !== "Always") return skip(`a run-to-completion pod (restartPolicy ${restartPolicy}): never injected`);

  const containers = pod.spec?.containers ?? [];
  const workloadName = role === "elasticsearch" ? ES_CONTAINER : KIBANA_CONTAINER;
  const workloadIndex = containers.findIndex((c) => c.name === workloadName);
  if (workloadIndex < 0) return skip(`no container named ${workloadName}`);
  const workload = containers[workloadIndex]!;
  const dir = role === "elasticsearch" ? ES_BUNDLE_DIR : KIBANA_CERT_DIR;
  const clash = (workload.volumeMounts ?? []).find((m) => trimSlash(m.mountPath) === dir);
  if (clash) return skip(`${dir} is already mounted (volume ${clash.name}); is ECK's own client certificate feature on?`);
  const taken = (pod.spec?.volumes ?? []).find((v) => INJECTED_VOLUMES.has(v.name));
  if (taken) return skip(`the pod already has a volume named ${taken.name}`);
  const foreign = foreignMount(pod, workloadName);
  if (foreign) return { ok: false, refused: true, reason: foreign };
  return { ok: true, mode, role, workload, workloadIndex, dir };
}

/**
 * A container of the pod's own that declares a mount of a volume injection is about to add: with the
 * volume added, it would read what the agent writes there (issue 18 finding 3: the probe identity's
 * key on es-mtls-probe, Kibana's key on es-mtls-material, the agent's intent-API token). Only the
 * agent mounts them, and the workload container the material and the probe folder (injection adds
 * those mounts itself; a mount the workload declares is harmless, it reads them anyway).
 */
function foreignMount(pod: V1Pod, workloadName: string): string | undefined {
  const spec = pod.spec;
  const all: Array<[string, { name: string; volumeMounts?: Array<{ name: string }> }[]]> = [
    ["initContainers", spec?.initContainers ?? []],
    ["containers", spec?.containers ?? []],
    ["ephemeralContainers", spec?.ephemeralContainers ?? []],
  ];
  for (const [field, containers] of all) {
    for (const c of containers) {
      for (const m of c.volumeMounts ?? []) {
        if (!INJECTED_VOLUMES.has(m.name)) continue;
        if (c.name === workloadName && field === "containers" && WORKLOAD_READS.has(m.name)) continue;
        return `es-mtls: ${field} ${c.name} mounts volume ${m.name}, which es-mtls injects for its agent${m.name === PROBE_VOLUME ? ` and the ${workloadName} container's probe identity` : ""}; only they may mount it: remove the mount`;
      }
    }
  }
  return undefined;
}

/** The patch: annotations (the record, the controller CA), the agent, its volumes, the workload's mount and env. */
function injectionPatch(pod: V1Pod, target: Target, mode: ClusterMode, config: InjectionConfig, record: InjectionRecord, env: V1Container["env"], agent: V1Container): JsonPatchOp[] {
  const patch: JsonPatchOp[] = [];
  addEntries(patch, "/metadata/annotations", pod.metadata?.annotations, { [INJECTED_ANNOTATION]: JSON.stringify(record), [CONTROLLER_CA_ANNOTATION]: config.controllerCaPem });
  if (record.sidecar === "native") {
    appendAll(patch, "/spec/initContainers", pod.spec?.initContainers, [agent]);
  } else {
    const { init, sidecar } = classicAgentContainers(agent);
    appendAll(patch, "/spec/initContainers", pod.spec?.initContainers, [init]);
    appendAll(patch, "/spec/containers", pod.spec?.containers ?? [], [sidecar]);
  }
  appendAll(patch, "/spec/volumes", pod.spec?.volumes, agentVolumes(target.role, mode, config.tokenExpirationSeconds));
  const base = `/spec/containers/${target.workloadIndex}`;
  const mounts = [{ name: MATERIAL_VOLUME, mountPath: target.dir, readOnly: true }];
  if (target.role === "elasticsearch") mounts.push({ name: PROBE_VOLUME, mountPath: ES_PROBE_DIR, readOnly: true });
  appendAll(patch, `${base}/volumeMounts`, target.workload.volumeMounts, mounts);
  patch.push({ op: target.workload.env ? "replace" : "add", path: `${base}/env`, value: env });
  return patch;
}

/** The role ECK's labels give the pod, if it is an Elasticsearch or Kibana pod. */
function roleOf(labels: Record<string, string>): Role | undefined {
  const type = labels[ECK_TYPE_LABEL];
  if (labels[ES_CLUSTER_LABEL] && (type === undefined || type === "elasticsearch")) return "elasticsearch";
  if (labels[KIBANA_NAME_LABEL] && (type === undefined || type === "kibana")) return "kibana";
  return undefined;
}

function trimSlash(path: string): string {
  return path.length > 1 ? path.replace(/\/+$/, "") : path;
}
