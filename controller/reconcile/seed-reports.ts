// Step: reports persisted in status count until the agent reports again (a restarted controller).
import { podRef, type ClusterView } from "./view.ts";
import type { ReportSource } from "./deps.ts";

export function seedReports(c: ClusterView, reports: ReportSource): void {
  for (const p of c.pods) {
    const entry = c.prevStatus.pods?.find((e) => e.name === p.pod.metadata!.name);
    if (entry) reports.seed(podRef(p), entry);
  }
}
