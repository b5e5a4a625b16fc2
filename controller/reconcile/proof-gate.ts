// Step: the proof gate: which pods proved the current material (gate/proofs.ts), the phase that
// allows (gate/transition.ts), and the Ready condition that says why.
import type { Phase } from "../../protocol/intent.ts";
import type { Condition } from "../resources.ts";
import { podEnforcement } from "../policy/injection-record.ts";
import { proves } from "../gate/proofs.ts";
import { gatePhase, readyCondition } from "../gate/transition.ts";
import type { PendingReplacement } from "../gate/rollout.ts";
import { cond } from "../status/conditions.ts";
import { missingPods } from "./accounting.ts";
import { gatedEsPods } from "./not-injectable.ts";
import { reportOf, type ClusterView, type PodView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function proofGate(
  c: ClusterView,
  phase: Phase,
  bundleSha256: string,
  conditions: Condition[],
  outstanding: PendingReplacement | undefined,
  d: Pick<ReconcilerDeps, "reports" | "readReplicas">,
): Promise<{ next: Phase; proven: (p: PodView) => boolean; provenCount: number }> {
  const proven = (p: PodView) => proves(reportOf(d.reports, p), p.role, podEnforcement(p.pod, phase), bundleSha256);
  let next = gatePhase(phase, gatedEsPods(c.esPods, phase).map((p) => ({ proven: proven(p), enforcement: podEnforcement(p.pod, phase) })));
  const provenCount = c.pods.filter(proven).length;
  // Proven pods are not enough: every pod the workload controllers will (re)create must be there.
  const missing = next !== phase ? await missingPods(c, outstanding, d) : undefined;
  if (missing) {
    next = phase;
    conditions.push(cond("Ready", "False", "WaitingForPods", `${provenCount}/${c.pods.length} pod(s) proven for phase ${phase}; ${missing}`));
  } else if (next === "Enabled" && !c.esPods.every(proven)) {
    // Enabled is a phase reached once; Ready is this reconcile's proofs, never a remembered claim.
    const unproven = c.esPods.filter((p) => !proven(p)).map((p) => p.pod.metadata!.name);
    conditions.push(cond("Ready", "False", "NotProven", `Elasticsearch pod(s) ${unproven.join(", ")} have not proven they require client certificates on the current bundle`));
  } else conditions.push(readyCondition(phase, next, provenCount, c.pods.length, bundleSha256));
  return { next, proven, provenCount };
}
