// The controller killed with SIGKILL at random moments of enable and disable (issue 10, second
// "done when": "… and at 20 random moments"), on the cluster of test/e2e/cluster-lifecycle.test.ts.
// The phase-boundary kills are in npm test (test/e2e/controller-kill.test.ts); this is the
// on-demand part: `npm run kill-random [-- --kills=20 --per-transition=2 --window-ms=15000]`.
// Each transition (enable → Enabled, disable → Disabled) gets `per-transition` kills at uniformly
// random moments in its first `window-ms`, the controller started again after each with the same
// flags. After each transition: it converged within the deadline; never two Elasticsearch pods
// evicted and not yet back (audit log); no eviction before the pod evicted before it came back
// proving the new state (agents' proof lines); enabling deleted nothing; disabling removed the
// annotation and Secrets only after every pod serving proved `none`. Prints one JSON line per
// transition, a JSON report and a one-line summary; exits 1 if any transition failed.
import { parseArgs } from "node:util";
import { Lifecycle, MTLS_SECRETS, REPLICAS } from "../test/e2e/lifecycle/cluster.ts";
import { evictionOverlap, notWhole, settle, waitWhole } from "../test/e2e/lifecycle/observe.ts";
import { cleanups, currentProofs, evictionsWhileUnproven } from "../test/e2e/lifecycle/kills.ts";

const { values } = parseArgs({
  options: {
    kills: { type: "string", default: "20" },
    "per-transition": { type: "string", default: "2" },
    "window-ms": { type: "string", default: "15000" },
    "deadline-ms": { type: "string", default: "180000" },
    verbose: { type: "boolean", default: false },
  },
});
const totalKills = Number(values.kills);
const perTransition = Number(values["per-transition"]);
const windowMs = Number(values["window-ms"]);
const deadlineMs = Number(values["deadline-ms"]);

interface Transition {
  n: number;
  to: "Enabled" | "Disabled";
  /** Offsets of the kills from the switch, ms, and the phase each one hit. */
  kills: Array<{ atMs: number; phase: string | undefined }>;
  convergedMs?: number;
  evictions: number;
  maxEvictedAtOnce: number;
  evictedBeforeProof: string[];
  earlyCleanup: string[];
  notWholeAtEnd: string[];
  ok: boolean;
  error?: string;
}

const log = values.verbose ? (l: string) => console.error(l) : () => {};
const started = Date.now();
const lc = await Lifecycle.start(log);
const transitions: Transition[] = [];
let exitCode = 0;
try {
  await waitWhole(lc, 90_000);
  console.error(`setup: ${Date.now() - started} ms`);
  let left = totalKills;
  for (let n = 1; left > 0; n++) {
    const k = Math.min(perTransition, left);
    left -= k;
    const t = await transition(n, n % 2 === 1 ? "Enabled" : "Disabled", k);
    console.error(JSON.stringify(t));
    transitions.push(t);
  }
  // End switched off, as found.
  if (transitions.at(-1)?.to === "Enabled") transitions.push(await transition(transitions.length + 1, "Disabled", 0));
} catch (e) {
  console.error(`kill-random aborted: ${(e as Error).message}`);
  exitCode = 2;
} finally {
  await lc.stop();
}

const failed = transitions.filter((t) => !t.ok);
const kills = transitions.reduce((s, t) => s + t.kills.length, 0);
const converged = transitions.map((t) => t.convergedMs).filter((x): x is number => x !== undefined).sort((a, b) => a - b);
const summary = {
  transitions: transitions.length,
  kills,
  failed: failed.length,
  convergedMs: converged.length ? { min: converged[0], median: converged[Math.floor(converged.length / 2)], max: converged.at(-1) } : undefined,
  maxEvictedAtOnce: Math.max(0, ...transitions.map((t) => t.maxEvictedAtOnce)),
  killedInPhase: Object.fromEntries([...new Set(transitions.flatMap((t) => t.kills.map((k) => String(k.phase))))].map((p) => [p, transitions.flatMap((t) => t.kills).filter((k) => String(k.phase) === p).length])),
  totalMs: Date.now() - started,
};
console.log(JSON.stringify({ summary, transitions }, null, 2));
console.log(
  `kill-random: ${kills} kill -9 over ${transitions.length} transitions, ${transitions.length - failed.length}/${transitions.length} converged clean ` +
    `(median ${converged.length ? (converged[Math.floor(converged.length / 2)]! / 1000).toFixed(1) : "-"} s, at most ${summary.maxEvictedAtOnce} pod evicted at once)` +
    (failed.length ? `; FAILED: ${failed.map((t) => `#${t.n}→${t.to}`).join(", ")}` : ""),
);
process.exit(exitCode || (failed.length ? 1 : 0));

async function transition(n: number, to: Transition["to"], killCount: number): Promise<Transition> {
  const since = Date.now();
  const t: Transition = { n, to, kills: [], evictions: 0, maxEvictedAtOnce: 0, evictedBeforeProof: [], earlyCleanup: [], notWholeAtEnd: [], ok: false };
  const offsets = Array.from({ length: killCount }, () => Math.round(Math.random() * windowMs)).sort((a, b) => a - b);
  try {
    await lc.setAuthentication(to === "Enabled");
    for (const at of offsets) {
      // A chosen moment, not a wait for a state: sleeping until it is the point.
      await Bun.sleep(Math.max(0, since + at - Date.now()));
      const phase = (await lc.status())?.phase;
      log(`kill -9 at +${at} ms (phase ${phase})`);
      t.kills.push({ atMs: at, phase });
      await lc.killAndRestartController();
    }
    await settle(lc, to, deadlineMs);
    t.convergedMs = Date.now() - since;
  } catch (e) {
    t.error = (e as Error).message.slice(0, 500);
  }
  const audit = lc.cp.auditEvents();
  const overlap = evictionOverlap(audit, since);
  t.evictions = overlap.count;
  t.maxEvictedAtOnce = overlap.maxOpen;
  const enforcement = to === "Enabled" ? "required" : "none";
  t.evictedBeforeProof = evictionsWhileUnproven(lc, audit, since, enforcement);
  const cleaned = cleanups(audit, since);
  if (to === "Enabled") t.earlyCleanup = cleaned.filter((c) => c.what.startsWith("delete")).map((c) => c.what);
  else {
    const proofs = await currentProofs(lc, "none");
    const first = cleaned[0]?.at ?? Infinity;
    t.earlyCleanup = [...proofs].filter(([, at]) => at === undefined || at > first).map(([pod, at]) => `${pod} proved none ${at === undefined ? "never" : `${at - first} ms after the first clean-up`}`);
    for (const s of MTLS_SECRETS) if (await lc.secret(s)) t.earlyCleanup.push(`${s} left behind`);
  }
  t.notWholeAtEnd = notWhole(await lc.pods());
  t.ok = !t.error && overlap.maxOpen <= 1 && t.evictedBeforeProof.length === 0 && t.earlyCleanup.length === 0 && t.notWholeAtEnd.length === 0 && (await lc.pods()).length === REPLICAS;
  if (!t.ok) console.error(`transition #${n} → ${to} failed; controller log tail:\n${lc.controller?.logs.slice(-10).join("\n")}`);
  return t;
}
