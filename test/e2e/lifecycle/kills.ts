// Killing the controller (SIGKILL, then the same process started again) while it switches mTLS on
// or off, and what must hold afterwards, read from the apiserver's audit log and the agents' own
// proof lines: never two Elasticsearch pods evicted at once (an eviction only after the previous
// evicted pod's replacement proved the new state), and clean-up only after every pod proved it.
// Shared by test/e2e/controller-kill.test.ts (phase boundaries) and bench/kill-random.ts.
import type { AuditEvent } from "../../controlplane/controlplane.ts";
import { ES_NAME, MTLS_SECRETS, NS, type Lifecycle } from "./cluster.ts";
import { evictions, secretDeletes } from "./observe.ts";

const ms = (e: AuditEvent) => Date.parse(e.requestReceivedTimestamp);

export interface Kill {
  at: number;
  why: string;
}

/**
 * Watches the ClientAuthentication's phase and the Elasticsearch pods; each time the phase changes
 * or a pod starts terminating (an eviction), kills the controller and starts it again. Runs until
 * `stop()`; `kills` lists what triggered each kill.
 */
export function killAtBoundaries(lc: Lifecycle, log: (l: string) => void = () => {}): { kills: Kill[]; stop: () => Promise<void> } {
  const kills: Kill[] = [];
  let running = true;
  const loop = (async () => {
    let phase = (await lc.status())?.phase;
    // A pod evicted shows as terminating, or (if it went quickly, say while the controller was
    // restarting) as a UID that is no longer there: each counts once.
    const seen = new Set<string>();
    const gone = new Set<string>();
    const names = new Map<string, string>();
    for (const p of await lc.pods()) (p.metadata?.deletionTimestamp ? gone : seen).add(p.metadata!.uid!);
    while (running) {
      const now = (await lc.status())?.phase;
      const pods = await lc.pods();
      const live = new Set(pods.filter((p) => !p.metadata?.deletionTimestamp).map((p) => p.metadata!.uid!));
      for (const p of pods) names.set(p.metadata!.uid!, p.metadata!.name!);
      const fresh = [...seen].filter((uid) => !live.has(uid) && !gone.has(uid));
      for (const uid of fresh) gone.add(uid);
      for (const uid of live) if (!gone.has(uid)) seen.add(uid);
      const reasons = [...(now !== phase ? [`phase ${phase} → ${now}`] : []), ...fresh.map((u) => `eviction of ${names.get(u) ?? `pod ${u}`}`)];
      const why = reasons.length ? reasons.join(" + ") : undefined;
      phase = now;
      if (why && running) {
        kills.push({ at: Date.now(), why });
        log(`kill -9 controller at ${why}`);
        await lc.killAndRestartController();
        continue;
      }
      await Bun.sleep(50); // a watch loop's pace, not a wait for a state
    }
  })();
  return {
    kills,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

/** The moment each agent of `pod` started (its first log line) and first proved `enforcement`. */
function agentsOf(lc: Lifecycle, pod: string, enforcement: "none" | "required"): Array<{ uid: string; started: number; proved?: number }> {
  return lc.agents
    .filter((a) => a.pod === pod && a.agent.logs.length > 0)
    .map((a) => {
      const proof = a.agent.logs.find((l) => l.msg === "proof succeeded" && String(l.detail).includes(`enforcement "${enforcement}" confirmed`));
      return { uid: a.uid, started: Date.parse(a.agent.logs[0]!.ts), ...(proof ? { proved: Date.parse(proof.ts) } : {}) };
    });
}

/**
 * Each Elasticsearch eviction since `sinceMs` came only after the pod evicted before it had a
 * replacement (an agent started after that eviction) whose agent proved `enforcement`. Returns the
 * violations, one line each; empty = none.
 */
export function evictionsWhileUnproven(lc: Lifecycle, audit: AuditEvent[], sinceMs: number, enforcement: "none" | "required"): string[] {
  const list = evictions(audit, sinceMs).sort((a, b) => ms(a) - ms(b));
  const out: string[] = [];
  for (let i = 1; i < list.length; i++) {
    const prev = list[i - 1]!;
    const at = ms(list[i]!);
    const replacement = agentsOf(lc, prev.objectRef!.name!, enforcement).find((a) => a.started >= ms(prev) && a.proved !== undefined && a.proved <= at);
    if (!replacement) out.push(`${list[i]!.objectRef!.name} evicted at ${new Date(at).toISOString()} before ${prev.objectRef!.name} (evicted ${prev.requestReceivedTimestamp}) came back proving "${enforcement}"`);
  }
  return out;
}

/**
 * The clean-up writes since `sinceMs`: deletes of the mTLS Secrets and the controller's patches of
 * the Elasticsearch (the only one while disabling removes the client-authentication-required annotation).
 */
export function cleanups(audit: AuditEvent[], sinceMs: number): Array<{ what: string; at: number }> {
  const deletes = [...secretDeletes(audit, MTLS_SECRETS, sinceMs)].map(([name, d]) => ({ what: `delete Secret ${name}`, at: d.at }));
  const patches = audit
    .filter((e) => e.verb === "patch" && e.objectRef?.resource === "elasticsearches" && e.objectRef.namespace === NS && e.objectRef.name === ES_NAME && !e.objectRef.subresource && e.user.username === "es-mtls-controller" && (e.responseStatus?.code ?? 0) < 300 && ms(e) >= sinceMs)
    .map((e) => ({ what: "patch Elasticsearch (annotation)", at: ms(e) }));
  return [...deletes, ...patches].sort((a, b) => a.at - b.at);
}

/** For each pod running now: when its agent proved `enforcement` (undefined: never). */
export async function currentProofs(lc: Lifecycle, enforcement: "none" | "required"): Promise<Map<string, number | undefined>> {
  const out = new Map<string, number | undefined>();
  for (const p of await lc.pods()) out.set(p.metadata!.name!, agentsOf(lc, p.metadata!.name!, enforcement).find((a) => a.uid === p.metadata!.uid)?.proved);
  return out;
}
