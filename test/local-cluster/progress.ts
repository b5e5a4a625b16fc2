// What the demo prints while a transition runs: one line per change (phase, which pod is
// restarting, proofs N/M) and a `kubectl get clientauthentications`-style table. It only reads
// the API, as a user with kubectl would.
import type * as k8s from "@kubernetes/client-node";
import { NS, REPLICAS, STS, ES_NAME, type Lifecycle } from "../e2e/lifecycle/cluster.ts";
import { CLIENT_AUTHENTICATION } from "../../controller/resources.ts";

const started = Date.now();
/** `[  12.3s] line`: seconds since the demo started, so the pace of a rollout is visible. */
export const say = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(1).padStart(6)}s] ${line}`);

const isReady = (p: k8s.V1Pod) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";

/** Pods of the StatefulSet that are not serving right now, and why (missing, terminating, starting). */
export function restarting(pods: k8s.V1Pod[], kibana: k8s.V1Pod[] = [], kibanaWanted = 0): string[] {
  return [...kibanaRestarting(kibana, kibanaWanted), ...esRestarting(pods)];
}

/** The Kibana Deployment's pods (new names on each restart) that are not serving, or a missing one. */
export function kibanaRestarting(kibana: k8s.V1Pod[], wanted: number): string[] {
  const out: string[] = [];
  for (const p of kibana) {
    const name = `Kibana ${p.metadata!.name}`;
    if (p.metadata?.deletionTimestamp) out.push(`${name} (terminating)`);
    else if (!isReady(p)) out.push(`${name} (starting${p.metadata?.annotations?.["mtls.es-mtls.io/injected"] ? ", agent injected" : ""})`);
  }
  if (kibana.filter((p) => !p.metadata?.deletionTimestamp).length < wanted) out.push("Kibana (being re-created)");
  return out;
}

function esRestarting(pods: k8s.V1Pod[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < REPLICAS; i++) {
    const name = `${STS}-${i}`;
    const p = pods.find((x) => x.metadata?.name === name);
    if (!p) out.push(`${name} (evicted, being re-created)`);
    else if (p.metadata?.deletionTimestamp) out.push(`${name} (terminating)`);
    else if (!isReady(p)) out.push(`${name} (starting${p.metadata?.annotations?.["mtls.es-mtls.io/injected"] ? ", agent injected" : ""})`);
  }
  return out;
}

function age(created: string | undefined): string {
  if (!created) return "-";
  const s = Math.max(0, Math.round((Date.now() - Date.parse(created)) / 1000));
  return s < 120 ? `${s}s` : `${Math.floor(s / 60)}m`;
}

/** The ClientAuthentication as `kubectl get clientauthentications -n <ns>` shows it (same columns as the CRD's printer columns in the README). */
export function table(obj: { metadata?: k8s.V1ObjectMeta; status?: Record<string, any> } | undefined): string {
  const s = obj?.status ?? {};
  const rows = [
    ["NAMESPACE", "NAME", "PHASE", "ENFORCEMENT", "PROVEN", "BUNDLE", "EARLIEST-EXPIRY", "AGE"],
    [NS, ES_NAME, s.phase ?? "-", s.enforcement ?? "-", s.podsProven ?? "-", String(s.bundleSha256 ?? "-").slice(0, 12), s.earliestExpiry ?? "-", age(obj?.metadata?.creationTimestamp as unknown as string)],
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => "    " + r.map((c, i) => c.padEnd(widths[i]!)).join("  ").trimEnd()).join("\n");
}

/** The ClientAuthentication object (metadata for AGE, status), or undefined before the controller created it. */
export async function clientAuthentication(lc: Lifecycle): Promise<{ metadata?: k8s.V1ObjectMeta; status?: Record<string, any> } | undefined> {
  try {
    return (await lc.custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: NS, name: ES_NAME })) as never;
  } catch {
    return undefined;
  }
}

/**
 * Polls until the phase is `target`, every pod Ready and (when Enabled) every pod proven; prints a
 * line whenever what a user would care about changed. Throws after `timeoutMs`.
 */
export async function follow(lc: Lifecycle, target: "Enabled" | "Disabled", timeoutMs: number, kibana?: () => Promise<k8s.V1Pod[]>): Promise<Record<string, any>> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  for (;;) {
    const obj = await clientAuthentication(lc);
    const s = obj?.status;
    const pods = await lc.pods();
    const kb = kibana ? await kibana() : [];
    const busy = restarting(pods, kb, kibana ? 1 : 0);
    const waiting = s?.conditions?.find((c: any) => c.type === "PodsUpToDate" && c.status !== "True")?.message;
    const line = [
      `phase ${s?.phase ?? "(none yet)"}`,
      `enforcement ${s?.enforcement ?? "-"}`,
      `proofs ${s?.podsProven ?? "-"}`,
      busy.length ? `restarting: ${busy.join(", ")}` : `all ${pods.length + kb.length} pods Ready`,
      ...(waiting ? [`waiting: ${waiting}`] : []),
    ].join(" | ");
    if (line !== last) say(line);
    last = line;
    // Proofs count every pod the cluster's mTLS covers: the ES pods and, with the Kibana, its pod.
    const total = REPLICAS + (kibana ? 1 : 0);
    const proven = target === "Disabled" || s?.podsProven === `${total}/${total}`;
    if (s?.phase === target && proven && busy.length === 0 && pods.length === REPLICAS) return obj!.status!;
    if (Date.now() > deadline) throw new Error(`phase ${target} not reached within ${timeoutMs / 1000} s (last: ${line})`);
    await Bun.sleep(500);
  }
}
