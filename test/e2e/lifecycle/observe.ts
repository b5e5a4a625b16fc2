// What the lifecycle test and the soak bench look at: requests through the official client, the
// pods' readiness container by container, the apiserver's audit log (evictions, re-creations,
// deletes) and the agents' own proof log lines.
import type * as k8s from "@kubernetes/client-node";
import { Client, HttpConnection } from "@elastic/elasticsearch";
import type { AuditEvent } from "../../controlplane/controlplane.ts";
import { eventually } from "../../support/eventually.ts";
import { CONTROLLER_NAMESPACE, NS, PASSWORD, REPLICAS, type AgentRun, type Lifecycle } from "./cluster.ts";

export interface ClientCert {
  cert: string;
  key: string;
}

/** One `info()` through the official client to one pod; "ok" or the error's name and message. */
export async function info(podIP: string, caPem: string, cert?: ClientCert, password = PASSWORD): Promise<string> {
  const es = new Client({
    node: `https://${podIP}:9200`,
    Connection: HttpConnection, // undici's default connection fails on Bun
    // The certificate names Services; the pod is reached by address: verify the CA, not the host.
    tls: { ca: caPem, ...(cert ? { cert: cert.cert, key: cert.key } : {}), checkServerIdentity: () => undefined },
    auth: { username: "elastic", password },
    maxRetries: 0,
    requestTimeout: 5000,
  });
  try {
    await es.info();
    return "ok";
  } catch (e) {
    return `${(e as Error).name}: ${(e as Error).message}`;
  } finally {
    await es.close();
  }
}

/** Per pod: the answer to a request with and without `cert`. */
export async function requestsPerPod(lc: Lifecycle, cert?: ClientCert): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const p of await lc.pods()) out[p.metadata!.name!] = p.status?.podIP ? await info(p.status.podIP, lc.httpCaPem, cert) : "no pod IP";
  return out;
}

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

/** What keeps the workload from being whole: missing pods, terminating ones, any container (sidecar included) not ready. Empty = whole. */
export function notWhole(pods: k8s.V1Pod[]): string[] {
  const problems: string[] = [];
  if (pods.length !== REPLICAS) problems.push(`${pods.length}/${REPLICAS} pods`);
  for (const p of pods) {
    const name = p.metadata!.name!;
    if (p.metadata?.deletionTimestamp) problems.push(`${name} terminating`);
    if (!isReady(p)) problems.push(`${name} not Ready`);
    for (const c of [...(p.status?.initContainerStatuses ?? []), ...(p.status?.containerStatuses ?? [])]) {
      if (!c.ready) problems.push(`${name}/${c.name} not ready (${Object.keys(c.state ?? {}).join(",")}${c.state?.waiting?.reason ? `: ${c.state.waiting.reason}` : ""})`);
    }
  }
  return problems;
}

/** Waits until every pod of the StatefulSet is whole (Ready, serving), naming what is not. */
export async function waitWhole(lc: Lifecycle, timeoutMs: number, what = "the StatefulSet Ready"): Promise<void> {
  await eventually(async () => {
    const problems = notWhole(await lc.pods());
    if (problems.length) throw new Error(problems.join("; "));
  }, { timeoutMs, intervalMs: 500, what });
}

/** Waits until the phase is `phase`, every pod whole and (when active) `n/n` proven. */
export async function settle(lc: Lifecycle, phase: "Enabled" | "Disabled", timeoutMs: number): Promise<Record<string, any>> {
  return eventually(async () => {
    const s = await lc.status();
    const problems = notWhole(await lc.pods());
    if (s?.phase !== phase) {
      // A miss names what the controller waits on and what the pods and their budget look like, so a rare one can be diagnosed from the log.
      const pods = problems.length ? problems.join("; ") : "pods whole";
      const budget = await lc.disruptionBudget().catch((e: Error) => `budget unreadable: ${e.message}`);
      throw new Error(`phase ${s?.phase}, proven ${s?.podsProven}, ${s?.conditions?.find((c: any) => c.type === "PodsUpToDate")?.message ?? ""}; ${pods}; budget: ${budget}`);
    }
    if (phase === "Enabled" && s.podsProven !== `${REPLICAS}/${REPLICAS}`) throw new Error(`proven ${s.podsProven}`);
    if (problems.length) throw new Error(problems.join("; "));
    return s;
  }, { timeoutMs, intervalMs: 500, what: `phase ${phase} with every pod whole` });
}

const ms = (e: AuditEvent) => Date.parse(e.requestReceivedTimestamp);
const ok = (e: AuditEvent) => (e.responseStatus?.code ?? 0) < 300;

/** Successful evictions in the namespace since `sinceMs`, in order. */
export function evictions(events: AuditEvent[], sinceMs = 0): AuditEvent[] {
  return events.filter((e) => e.verb === "create" && e.objectRef?.resource === "pods" && e.objectRef.subresource === "eviction" && e.objectRef.namespace === NS && ok(e) && ms(e) >= sinceMs);
}

/**
 * From the audit log: each eviction opens a window that closes when a pod of the same name is
 * created again (a StatefulSet re-creates by name). Returns the largest number of windows open at
 * once, and the windows still open.
 */
export function evictionOverlap(events: AuditEvent[], sinceMs = 0): { maxOpen: number; open: string[]; count: number } {
  const relevant = events
    .filter((e) => ms(e) >= sinceMs && e.objectRef?.namespace === NS && e.objectRef.resource === "pods" && ok(e))
    .filter((e) => (e.verb === "create" && (e.objectRef!.subresource === "eviction" || !e.objectRef!.subresource)))
    .sort((a, b) => ms(a) - ms(b));
  const open = new Set<string>();
  let maxOpen = 0;
  let count = 0;
  for (const e of relevant) {
    const name = e.objectRef!.name!;
    if (e.objectRef!.subresource === "eviction") {
      open.add(name);
      count++;
      maxOpen = Math.max(maxOpen, open.size);
    } else open.delete(name);
  }
  return { maxOpen, open: [...open], count };
}

/** Time of the successful delete of each named Secret since `sinceMs` (by any user). */
export function secretDeletes(events: AuditEvent[], names: string[], sinceMs = 0): Map<string, { at: number; user: string }> {
  const out = new Map<string, { at: number; user: string }>();
  for (const e of events) {
    if (e.verb === "delete" && e.objectRef?.resource === "secrets" && (e.objectRef.namespace === NS || e.objectRef.namespace === CONTROLLER_NAMESPACE) && names.includes(e.objectRef.name ?? "") && ok(e) && ms(e) >= sinceMs) {
      out.set(e.objectRef.name!, { at: ms(e), user: e.user.username });
    }
  }
  return out;
}

/** When the agent of each pod (by UID) first logged a successful proof of `enforcement`. */
export function proofTimes(agents: AgentRun[], uids: string[], enforcement: "none" | "required"): Map<string, number | undefined> {
  const out = new Map<string, number | undefined>();
  for (const uid of uids) {
    const lines = agents.filter((a) => a.uid === uid).flatMap((a) => a.agent.logs);
    const hit = lines.find((l) => l.msg === "proof succeeded" && String(l.detail).includes(`enforcement "${enforcement}" confirmed`));
    out.set(uid, hit ? Date.parse(hit.ts) : undefined);
  }
  return out;
}
