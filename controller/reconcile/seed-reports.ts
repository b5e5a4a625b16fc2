// Step: reports persisted in status count until the agent reports again (a restarted controller).
import { podRef, type ClusterView } from "./view.ts";
import type { ReportSource } from "./deps.ts";
import type { PodStatusEntry } from "../resources.ts";

export function seedReports(c: ClusterView, reports: ReportSource): void {
  // Indexed once: a lookup per pod in the list was O(pods²) per reconcile (5.5 % of the controller's
  // CPU with 1,100 pods, bench/propagation.ts). The first entry of a name wins, as `find` did.
  const byName = new Map<string, PodStatusEntry>();
  for (const e of c.prevStatus.pods ?? []) if (!byName.has(e.name)) byName.set(e.name, e);
  for (const p of c.pods) {
    const entry = byName.get(p.pod.metadata!.name!);
    if (entry) reports.seed(podRef(p), entry);
  }
}
