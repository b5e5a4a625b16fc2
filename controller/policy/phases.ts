// The phases of a cluster's enable/disable state machine, and what each means for pods. The
// one definition of "active": the injection webhook, the reconciler and the rollout all ask here.
import type { Enforcement, Phase } from "../../protocol/intent.ts";

/** Phases in which pods carry the agent, agents get intents and the cluster's secrets exist; Disabled and Blocked leave pods alone. */
const ACTIVE_PHASES: ReadonlySet<Phase> = new Set<Phase>(["Enabling", "Enabled", "Disabling"]);

export function isActive(phase: Phase): boolean {
  return ACTIVE_PHASES.has(phase);
}

/** What a pod created now must enforce: `required` while enabling or enabled, nothing otherwise. */
export function enforcementForNewPods(phase: Phase): Enforcement {
  return phase === "Enabling" || phase === "Enabled" ? "required" : "none";
}
