// Classifying what the load client saw, and the table the test prints.
//
// The rule for connection errors: every request goes to a pod that was Ready (and not terminating)
// in the watch at send time. A connection-level failure (reset, refused, timeout) that ended after
// the test node sent SIGTERM to that pod's elasticsearch container (its "kill" event, same process
// clock) is a termination error (`conn-term`). The ES stand-in drains on SIGTERM as ES does (its
// listener closes, requests in flight are answered), so the only termination errors left are
// requests sent after SIGTERM within the routing lag (the load picked the pod from its watch an
// instant before the deletion reached it): terminationErrors() lists them with that lag, and the
// test bounds it. A reset before SIGTERM is the server refusing the client at the TLS layer (ES
// drops the connection after the handshake when it refuses a certificate or its absence): `tls`.
// A refused or timed-out connection to a pod not yet told to stop is `conn-live`: asserted zero
// for correct clients.
import type { ContainerEvent } from "../../node/container.ts";
import type { RequestRecord } from "./client.ts";

/** Per pod UID: when its elasticsearch container was first told to stop (a crash is not a stop: it stays visible). */
export function stopTimes(events: ContainerEvent[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const e of events) {
    if (e.container === "elasticsearch" && e.event === "kill" && !(e.at >= (out.get(e.uid) ?? Infinity))) out.set(e.uid, e.at);
  }
  return out;
}

export type Outcome = "ok" | "tls" | "auth" | "conn-term" | "conn-live" | "other";
export const OUTCOMES: Outcome[] = ["ok", "tls", "auth", "conn-term", "conn-live", "other"];

export function classify(r: RequestRecord, stoppedAt: Map<string, number>): Outcome {
  if (r.raw === "ok") return "ok";
  if (r.raw === "401" || r.raw === "403") return "auth";
  if (r.raw === "other") return "other";
  const stopped = stoppedAt.get(r.pod.uid);
  if (stopped !== undefined && r.endAt >= stopped) return "conn-term";
  return r.raw === "reset" ? "tls" : "conn-live";
}

export interface Window {
  transition: string;
  start: number;
  end: number;
}

export interface Row {
  transition: string;
  phase: string;
  identity: string;
  ms: number;
  counts: Record<Outcome | "requests", number>;
  examples: string[];
}

/** How long the phase view showed `phase` within the window. */
function phaseMs(changes: Array<{ at: number; phase: string }>, phase: string, w: Window): number {
  let total = 0;
  changes.forEach((c, i) => {
    const until = changes[i + 1]?.at ?? Infinity;
    if (c.phase === phase) total += Math.max(0, Math.min(until, w.end) - Math.max(c.at, w.start));
  });
  return total;
}

/** One row per transition, phase (in the order seen) and identity. */
export function rows(records: RequestRecord[], stoppedAt: Map<string, number>, windows: Window[], changes: Array<{ at: number; phase: string }>): Row[] {
  const out = new Map<string, Row>();
  for (const r of records) {
    const key = `${r.transition}\0${r.phase}\0${r.identity}`;
    const w = windows.find((x) => x.transition === r.transition);
    const row = out.get(key) ?? {
      transition: r.transition,
      phase: r.phase,
      identity: r.identity,
      ms: w ? phaseMs(changes, r.phase, w) : 0,
      counts: Object.fromEntries(["requests", ...OUTCOMES].map((k) => [k, 0])) as Row["counts"],
      examples: [],
    };
    const o = classify(r, stoppedAt);
    row.counts.requests++;
    row.counts[o]++;
    // For a termination error: in flight when SIGTERM came, or sent after it (the routing lag).
    const stop = o === "conn-term" ? r.sentAt - stoppedAt.get(r.pod.uid)! : undefined;
    const when = stop === undefined ? "" : stop < 0 ? ` (in flight at SIGTERM)` : ` (sent ${stop} ms after SIGTERM)`;
    if (o !== "ok" && row.examples.length < 3) row.examples.push(`${o} ${r.pod.name}${when}: ${(r.detail ?? r.raw).split(" - Local")[0]}`);
    out.set(key, row);
  }
  return [...out.values()];
}

/** Each termination error: in flight at SIGTERM (sent before it), or sent how long after it. */
export function terminationErrors(records: RequestRecord[], stoppedAt: Map<string, number>): Array<{ identity: string; pod: string; inFlight: boolean; sentAfterMs: number; detail: string }> {
  return records
    .filter((r) => classify(r, stoppedAt) === "conn-term")
    .map((r) => {
      const after = r.sentAt - stoppedAt.get(r.pod.uid)!;
      return { identity: r.identity, pod: r.pod.name, inFlight: after < 0, sentAfterMs: after, detail: (r.detail ?? r.raw).split(" - Local")[0]! };
    });
}

/** Per pod UID, the negative client's answers: a pod's client_authentication is fixed for its life, so never both. */
export function mixedPods(records: RequestRecord[], identity: string, stoppedAt: Map<string, number>): string[] {
  const seen = new Map<string, Set<Outcome>>();
  for (const r of records.filter((x) => x.identity === identity)) {
    const o = classify(r, stoppedAt);
    if (o === "ok" || o === "tls") seen.set(`${r.pod.name} ${r.pod.uid}`, (seen.get(`${r.pod.name} ${r.pod.uid}`) ?? new Set()).add(o));
  }
  return [...seen].filter(([, o]) => o.size > 1).map(([pod]) => pod);
}

export function table(rs: Row[]): string {
  const head = ["transition", "phase", "phase time", "client", "requests", "ok", "tls", "401/403", "conn (pod terminating)", "conn (pod up)", "other"];
  const body = rs.map((r) => [r.transition, r.phase, `${(r.ms / 1000).toFixed(1)} s`, r.identity, ...(["requests", ...OUTCOMES] as const).map((k) => String(r.counts[k]))]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(" | ")} |`;
  const legend = "tls: dropped by a pod not told to stop (refused); conn (pod terminating): failed after SIGTERM to a pod Ready when the request was sent; conn (pod up): refused/timed out before any SIGTERM";
  return [line(head), `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`, ...body.map(line), legend].join("\n");
}
