// Step: the phase, from the spec, the licence rule that applies and the persisted phase (gate/transition.ts);
// its warnings recorded as Events, its conditions added to the reconcile's.
import type { Phase } from "../../protocol/intent.ts";
import type { Condition } from "../resources.ts";
import { licenseVerdict } from "../policy/license.ts";
import { enablementCheck, type EnablementProblem } from "../policy/validation.ts";
import { describeHttpsProblems, httpsCallsThatWouldFail } from "../policy/https-probes.ts";
import { describeHttpTrustConflicts, httpTrustConflicts } from "../policy/user-http-trust.ts";
import { describeKibanaProofProblems, kibanaProofUnavailable } from "../policy/kibana-proof.ts";
import { describeKibanaChartHooksProblems, kibanaChartHooksWouldFail } from "../policy/kibana-chart-hooks.ts";
import type { Manager } from "../policy/manager.ts";
import { decidePhase } from "../gate/transition.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function decideClusterPhase(c: ClusterView, conditions: Condition[], manager: Manager, d: Pick<ReconcilerDeps, "caches" | "events">): Promise<Phase> {
  // The same observation and rule as the validation webhook (serving/webhooks.ts).
  const license = licenseVerdict(d.caches.licensing.observe());
  const enablement = enablementCheck(c.es, license);
  const decision = decidePhase({
    wanted: c.es.spec?.http?.tls?.client?.authentication === true,
    problems: [...(manager.by === "eck" && !manager.implementsFeature ? [{ reason: "ECKTooOld" as const, message: `Elasticsearch ${c.key} is ${manager.reason}` }] : []), ...(enablement.ok ? [] : enablement.problems), ...probeProblems(c), ...trustProblems(c), ...kibanaProblems(c), ...chartHookProblems(c)],
    license,
    previous: c.prevPhase,
  });
  for (const w of decision.warnings) await d.events.record(esTarget(c.es), "Warning", w.reason, w.message);
  conditions.push(...decision.conditions);
  return decision.phase;
}

/** Probes and hooks that would fail under `required` refuse enabling (before any restart; an active cluster keeps going). */
function probeProblems(c: ClusterView): EnablementProblem[] {
  const found = httpsCallsThatWouldFail(c.esPods.map((p) => p.pod));
  return found.length ? [{ reason: "ProbeWouldFail", message: describeHttpsProblems(c.key, found) }] : [];
}

/** HTTP trust of the user's that the injected certificate_authorities would break or drop: refused before any restart. */
function trustProblems(c: ClusterView): EnablementProblem[] {
  const found = httpTrustConflicts(c.esPods.map((p) => p.pod), c.es);
  return found.length ? [{ reason: "UserTrustConflict", message: describeHttpTrustConflicts(c.key, found) }] : [];
}

/** Kibana pods whose restart the agent could not prove: refused before any restart. */
function kibanaProblems(c: ClusterView): EnablementProblem[] {
  const found = kibanaProofUnavailable(c.pods.filter((p) => p.role === "kibana").map((p) => p.pod));
  return found.length ? [{ reason: "KibanaProofUnavailable", message: describeKibanaProofProblems(c.key, found) }] : [];
}

/** Kibanas of the official chart whose hook Jobs `required` would refuse, unless they are skipped: refused before any restart. */
function chartHookProblems(c: ClusterView): EnablementProblem[] {
  const found = kibanaChartHooksWouldFail(c.pods.filter((p) => p.role === "kibana").map((p) => p.pod), c.es.metadata?.annotations ?? {});
  return found.length ? [{ reason: "KibanaChartHooksWouldFail", message: describeKibanaChartHooksProblems(c.key, found) }] : [];
}
