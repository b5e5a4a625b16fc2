// Step: the status of an active cluster (status/build.ts), from its pods' reports, written when it
// differs. The reconcile writes it after the intents went out: the generation they carry was
// reserved on the bundle Secret first (generation.ts), so it is never reused after a restart.
import type { Phase } from "../../protocol/intent.ts";
import type { Condition } from "../resources.ts";
import type { PendingReplacement } from "../gate/rollout.ts";
import { provenEnforcement } from "../gate/proofs.ts";
import { agentImage, hasInjectionRecord } from "../policy/injection-record.ts";
import { activeStatus, podEntry } from "../status/build.ts";
import { writeStatus } from "../status/write.ts";
import { podRef, reportOf, type ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function writeActiveStatus(
  c: ClusterView,
  s: { phase: Phase; generation: number; hash: string; bundleSha256: string; provenCount: number; expiries: Date[]; conditions: Condition[]; activeSince: string; pending: PendingReplacement | undefined },
  d: Pick<ReconcilerDeps, "reports" | "writer">,
): Promise<void> {
  const pods = c.pods.map((p) => podEntry({ ...podRef(p), role: p.role, injected: hasInjectionRecord(p.pod), agentImage: agentImage(p.pod) }, reportOf(d.reports, p)));
  // What the pods' agents proved, not what an annotation says they were configured with.
  const esEnforcement = c.esPods.map((p) => provenEnforcement(reportOf(d.reports, p)));
  const { phase, generation, hash, bundleSha256, provenCount, expiries, conditions } = s;
  const status = { ...activeStatus(c.prevStatus, { phase, generation, hash, bundleSha256, provenCount, pods, esEnforcement, expiries, conditions }), activeSince: s.activeSince };
  await writeStatus(d.writer, c.es, c.clientAuth, s.pending ? { ...status, pendingRestart: s.pending } : status);
}
