// Kubernetes resource quantities ("80Mi", "10m", "0.5", "1e3"), read as the apiserver reads them, so
// the controller refuses a value before the apiserver would refuse the pod carrying it. The
// controller's (its --agent-* flags, the per-pod annotation); here because config.ts and
// admission/ both check them and neither may import the other.

const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

// The grammar of k8s.io/apimachinery's resource.Quantity, without a sign: a request or limit is
// never negative (the apiserver refuses one).
const QUANTITY = /^\+?(\d+(?:\.\d*)?|\.\d+)(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/;

/** The quantity's value (cores, bytes), for comparing two of them; undefined when it is not one. */
export function parseQuantity(text: string): number | undefined {
  const m = QUANTITY.exec(text);
  if (!m) return undefined;
  const value = m[2] ? Number(`${m[1]}${m[2]}`) : Number(m[1]) * SUFFIX[m[3] ?? ""]!;
  return Number.isFinite(value) ? value : undefined;
}

/** The agent container's requests and limits: every one set, so a partial override merges over them. */
export interface AgentResources {
  requests: { cpu: string; memory: string };
  limits: { cpu: string; memory: string };
}

/** The first resource whose limit is below its request, in words; undefined when none is. Both must parse. */
export function limitBelowRequest(r: AgentResources): { resource: "cpu" | "memory"; request: string; limit: string } | undefined {
  for (const resource of ["cpu", "memory"] as const) {
    const request = parseQuantity(r.requests[resource])!;
    const limit = parseQuantity(r.limits[resource])!;
    if (limit < request) return { resource, request: r.requests[resource], limit: r.limits[resource] };
  }
  return undefined;
}
