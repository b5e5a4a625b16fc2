// The enable/disable state machine as pure decisions: where a cluster stands given its spec, the
// license and its persisted phase (decidePhase), and whether every Elasticsearch pod's proof lets it
// move on (gatePhase). Failure idiom: decisions are data (phase, conditions, warnings to record);
// the reconciler does the I/O.
import type { Enforcement, Phase } from "../../protocol/intent.ts";
import type { Condition } from "../resources.ts";
import type { LicenseVerdict } from "../policy/license.ts";
import type { EnablementProblem } from "../policy/validation.ts";
import { isActive } from "../policy/phases.ts";
import { cond } from "../status/conditions.ts";

interface PhaseInput {
  /** spec.http.tls.client.authentication */
  wanted: boolean;
  /** policy/'s enablement problems (TLS off, license), in ECK's order; empty when none. */
  problems: EnablementProblem[];
  /** The licence rule that applies and its verdict (policy/license.ts). */
  license: LicenseVerdict;
  /** The persisted phase (or what ECK's annotation implies). */
  previous: Phase;
}

interface Warning {
  reason: string;
  message: string;
}

interface PhaseDecision {
  phase: Phase;
  conditions: Condition[];
  /** Warning Events to record on the Elasticsearch. */
  warnings: Warning[];
}

export function decidePhase(input: PhaseInput): PhaseDecision {
  const { wanted, license, previous } = input;
  const conditions: Condition[] = [];
  const warnings: Warning[] = [];
  let phase: Phase;
  const blocking = input.problems[0];
  if (wanted) {
    // A cluster already active keeps going: never cut clients off because a rule now fails.
    if (blocking && !isActive(previous)) {
      phase = "Blocked";
      // The licence's message names the rule applied and what it saw (the level, the ConfigMap).
      const detail = blocking.reason === "LicenseRequired" || blocking.reason === "LicenseUnknown" ? license.message : blocking.message;
      conditions.push(cond("Ready", "False", blocking.reason, detail));
      warnings.push({ reason: blocking.reason, message: blocking.message });
    } else {
      phase = previous === "Enabled" ? "Enabled" : "Enabling";
    }
  } else {
    phase = isActive(previous) ? "Disabling" : "Disabled";
  }
  conditions.push(cond("LicenseValid", license.status, license.reason, license.message));
  if (!license.allows && isActive(phase) && wanted) {
    // Never cut clients off silently: keep the current trust, warn.
    warnings.push({ reason: "LicenseLapsed", message: `${license.refusal}; keeping the current client certificate trust until the license is restored or client authentication is turned off` });
  }
  return { phase, conditions, warnings };
}

interface GatedPod {
  proven: boolean;
  enforcement: Enforcement;
}

/** Enabling → Enabled once every Elasticsearch pod proved `required`; Disabling → Disabled once every one proved `none`. */
export function gatePhase(phase: Phase, esPods: GatedPod[]): Phase {
  if (phase === "Enabling" && esPods.every((p) => p.proven && p.enforcement === "required")) return "Enabled";
  if (phase === "Disabling" && esPods.every((p) => p.proven && p.enforcement === "none")) return "Disabled";
  return phase;
}

export function readyCondition(phase: Phase, next: Phase, provenCount: number, podCount: number, bundleSha256: string): Condition {
  return next === "Enabled"
    ? cond("Ready", "True", "AllPodsProven", `every Elasticsearch pod requires client certificates and trusts bundle ${bundleSha256.slice(0, 12)}`)
    : cond("Ready", "False", phase === "Disabling" ? "WaitingForPods" : "Rolling", `${provenCount}/${podCount} pod(s) proven for phase ${phase}`);
}
