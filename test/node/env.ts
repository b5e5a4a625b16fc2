// A container's environment as the kubelet builds it: envFrom, then env in order
// with $(VAR) expansion, values from the downward API, Secrets and ConfigMaps,
// plus the in-cluster apiserver variables.
import type * as k8s from "@kubernetes/client-node";

export interface PodFacts {
  pod: k8s.V1Pod;
  podIP: string;
  hostIP: string;
  nodeName: string;
}

export class MissingSourceError extends Error {}

/** Downward API value of a fieldRef path (as for env vars and downwardAPI volume items). */
export function fieldValue(path: string, f: PodFacts): string {
  const meta = f.pod.metadata ?? {};
  const quoted = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (quoted) return (quoted[1] === "labels" ? meta.labels : meta.annotations)?.[quoted[2]!] ?? "";
  const all = (m: Record<string, string> | undefined) =>
    Object.entries(m ?? {})
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
      .join("\n");
  switch (path) {
    case "metadata.name": return meta.name ?? "";
    case "metadata.namespace": return meta.namespace ?? "";
    case "metadata.uid": return meta.uid ?? "";
    case "metadata.labels": return all(meta.labels);
    case "metadata.annotations": return all(meta.annotations);
    case "spec.nodeName": return f.nodeName;
    case "spec.serviceAccountName": return f.pod.spec?.serviceAccountName ?? "default";
    case "status.podIP": case "status.podIPs": return f.podIP;
    case "status.hostIP": case "status.hostIPs": return f.hostIP;
    default: throw new MissingSourceError(`unsupported fieldRef ${path}`);
  }
}

const UNITS: Record<string, number> = { m: 1e-3, k: 1e3, K: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) throw new MissingSourceError(`bad quantity ${q}`);
  return Number(m[1]) * (m[2] ? (UNITS[m[2]] ?? NaN) : 1);
}

/** resourceFieldRef: the container's limit (or the node's capacity when unset), divided and rounded up. */
export function resourceValue(ref: k8s.V1ResourceFieldSelector, container: k8s.V1Container | undefined, capacity: Record<string, string>): string {
  const [kind, resource] = ref.resource.split(".") as [string, string];
  const spec = kind === "requests" ? container?.resources?.requests : container?.resources?.limits;
  const raw = (spec?.[resource] as string | undefined) ?? capacity[resource] ?? "0";
  // The apiserver stores an unset divisor as "0"; the kubelet reads a zero divisor as 1.
  const divisor = quantity(String(ref.divisor ?? "1")) || 1;
  return String(Math.ceil(quantity(String(raw)) / divisor));
}

export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\((\w+)\)|\$\$/g, (whole, name: string | undefined) => (name === undefined ? "$" : (env[name] ?? whole)));
}

type Reader = (kind: "secret" | "configmap", namespace: string, name: string) => Promise<Record<string, string> | undefined>;

/** Reads Secret data (decoded) and ConfigMap data; undefined when absent. */
export function apiReader(core: k8s.CoreV1Api): Reader {
  return async (kind, namespace, name) => {
    try {
      if (kind === "secret") {
        const s = await core.readNamespacedSecret({ name, namespace });
        return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]));
      }
      const c = await core.readNamespacedConfigMap({ name, namespace });
      return { ...(c.data ?? {}) };
    } catch (e) {
      if ((e as { code?: number }).code === 404) return undefined;
      throw e;
    }
  };
}

export async function containerEnv(read: Reader, f: PodFacts, c: k8s.V1Container, capacity: Record<string, string>, apiserver: URL): Promise<Record<string, string>> {
  const ns = f.pod.metadata!.namespace!;
  const env: Record<string, string> = {
    HOSTNAME: f.pod.spec?.hostname ?? f.pod.metadata!.name!,
    KUBERNETES_SERVICE_HOST: apiserver.hostname,
    KUBERNETES_SERVICE_PORT: apiserver.port || "443",
  };
  for (const from of c.envFrom ?? []) {
    const ref = from.secretRef ?? from.configMapRef;
    if (!ref?.name) continue;
    const data = await read(from.secretRef ? "secret" : "configmap", ns, ref.name);
    if (!data && !ref.optional) throw new MissingSourceError(`${from.secretRef ? "secret" : "configmap"} "${ref.name}" not found`);
    for (const [k, v] of Object.entries(data ?? {})) env[(from.prefix ?? "") + k] = v;
  }
  for (const e of c.env ?? []) {
    const v = e.valueFrom;
    if (!v) {
      env[e.name] = expand(e.value ?? "", env);
    } else if (v.fieldRef) {
      env[e.name] = fieldValue(v.fieldRef.fieldPath, f);
    } else if (v.resourceFieldRef) {
      env[e.name] = resourceValue(v.resourceFieldRef, c, capacity);
    } else {
      const ref = (v.secretKeyRef ?? v.configMapKeyRef)!;
      const kind = v.secretKeyRef ? "secret" : "configmap";
      const value = (await read(kind, ns, ref.name!))?.[ref.key];
      if (value !== undefined) env[e.name] = value;
      else if (!ref.optional) throw new MissingSourceError(`${kind} "${ref.name}" has no key ${ref.key} (for ${e.name})`);
    }
  }
  return env;
}

/** command + args with $(VAR) expanded, as the runtime would exec them. */
export function containerArgv(c: k8s.V1Container, env: Record<string, string>): string[] {
  return [...(c.command ?? []), ...(c.args ?? [])].map((a) => expand(a, env));
}
