// Step: pods still carrying the agent get an intent that lets them start and stay out of the way
// (never a refusal), with the inert anchor as their bundle (pki/inert.ts).
import type { Phase } from "../../protocol/intent.ts";
import { inertBundle } from "../pki/inert.ts";
import { retireIntents } from "./publish.ts";
import { log } from "../log.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function retire(c: ClusterView, phase: Phase, generation: number, d: Pick<ReconcilerDeps, "intents">): Promise<void> {
  const { kept } = retireIntents(d.intents, c.pods, { generation, cluster: { namespace: c.namespace, name: c.name }, phase, inertBundle: await inertBundle() });
  for (const pod of kept) log.debug("retired intent unchanged", pod);
}
