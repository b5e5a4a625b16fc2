// A tiny test kubelet: runs the agent container the injection webhook put into a
// Pod as a local process. The pod's filesystem is a temporary root folder (the
// agent's --root): the projected token and controller CA are written where the
// pod spec mounts them, with a real TokenRequest for that pod. Only what the
// container cannot reach here is replaced: the controller's in-cluster URL and
// the health port (tests run several pods on one host).
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type * as k8s from "@kubernetes/client-node";
import { AGENT_CONTAINER } from "../../controller/names.ts";
import { spawnAgent, type AgentProcess, type AgentRuntime } from "./agent-harness.ts";

export function agentContainer(pod: k8s.V1Pod): k8s.V1Container {
  const c = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].find((x) => x.name === AGENT_CONTAINER);
  if (!c) throw new Error(`pod ${pod.metadata?.name} has no ${AGENT_CONTAINER} container (not injected)`);
  return c;
}

/** Materialises the agent's projected volumes (token, downward-API annotations) under `root`. */
async function projectVolumes(core: k8s.CoreV1Api, pod: k8s.V1Pod, container: k8s.V1Container, root: string) {
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.spec?.volumes?.find((v) => v.name === mount.name);
    const dir = join(root, mount.mountPath);
    mkdirSync(dir, { recursive: true });
    for (const source of volume?.projected?.sources ?? []) {
      if (source.serviceAccountToken) {
        const tr = await core.createNamespacedServiceAccountToken({
          name: pod.spec!.serviceAccountName ?? "default",
          namespace: pod.metadata!.namespace!,
          body: {
            spec: {
              audiences: [source.serviceAccountToken.audience!],
              expirationSeconds: source.serviceAccountToken.expirationSeconds ?? 3600,
              boundObjectRef: { apiVersion: "v1", kind: "Pod", name: pod.metadata!.name!, uid: pod.metadata!.uid! },
            },
          },
        });
        writeFileSync(join(dir, source.serviceAccountToken.path), tr.status!.token);
      }
      for (const item of source.downwardAPI?.items ?? []) {
        const m = /^metadata\.annotations\['(.+)'\]$/.exec(item.fieldRef?.fieldPath ?? "");
        if (!m) continue;
        const file = join(dir, item.path);
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, pod.metadata?.annotations?.[m[1]!] ?? "");
      }
    }
  }
}

export async function runAgentOf(o: {
  core: k8s.CoreV1Api;
  pod: k8s.V1Pod;
  runtime: AgentRuntime;
  root: string;
  controllerUrl: string;
  probeUrl: string;
}): Promise<AgentProcess> {
  const container = agentContainer(o.pod);
  await projectVolumes(o.core, o.pod, container, o.root);
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  Object.assign(env, {
    ES_MTLS_CONTROLLER_URL: o.controllerUrl,
    ES_MTLS_HEALTH_PORT: "0",
    ES_MTLS_HEALTH_ADDR: "127.0.0.1",
    ES_MTLS_PROBE_URL: o.probeUrl,
    ES_MTLS_ROOT: o.root,
  });
  return spawnAgent(o.runtime, container.args ?? [], env);
}
