// Step: Disabled or Blocked: no intents, nothing in memory; say so in status if the cluster ever had one.
import type { Phase } from "../../protocol/intent.ts";
import type { Condition } from "../resources.ts";
import { inactiveStatus } from "../status/build.ts";
import { writeStatus } from "../status/write.ts";
import { nextGeneration, reservedGeneration, retiredHash } from "./generation.ts";
import type { ClusterMemory } from "./memory.ts";
import { removeAnnotation } from "./required-annotation.ts";
import { retire } from "./retire.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function standDown(c: ClusterView, phase: Phase, conditions: Condition[], memory: ClusterMemory, d: Pick<ReconcilerDeps, "writer" | "intents" | "resyncMs">): Promise<{ requeueAfterMs: number }> {
  const published = memory.published.get(c.key);
  memory.forget(c.key);
  // A cluster that never used client authentication gets no status object: nothing to say.
  if (!c.clientAuth && phase === "Disabled" && !c.annotated) {
    await retire(c, phase, Math.max(1, c.prevStatus.intentGeneration ?? 0), d);
    return { requeueAfterMs: d.resyncMs };
  }
  if (c.annotated && phase === "Disabled") await removeAnnotation(c, d);
  // Retired intents are content too: their own generation, persisted before any agent sees it, so
  // a later Enabling (a new hash) never reuses the number a retired intent went out with.
  const hash = retiredHash(phase);
  const generation = nextGeneration(c.prevStatus, hash, { published, reserved: reservedGeneration(c) });
  await writeStatus(d.writer, c.es, c.clientAuth, inactiveStatus(c.prevStatus, { phase, podCount: c.pods.length, conditions, intent: { generation, hash } }));
  await retire(c, phase, generation, d);
  return { requeueAfterMs: d.resyncMs };
}
