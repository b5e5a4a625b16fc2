// Step: the reports the restart plan reads, with every Kibana pod that cannot load its identity
// (kibana-identities.ts) marked as needing a restart.
import { cannotLoadIdentity } from "./kibana-identities.ts";
import type { KibanaIdentity } from "./kibana.ts";
import type { ClusterView } from "./view.ts";
import type { ReportSource } from "./deps.ts";

export function withStranded(c: ClusterView, identities: KibanaIdentity[], reports: ReportSource): ReportSource {
  const stranded = cannotLoadIdentity(c.pods.filter((p) => p.role === "kibana").map((p) => p.pod), identities);
  if (!stranded.size) return reports;
  return {
    get: (uid) => {
      const r = reports.get(uid);
      return stranded.has(uid) ? { ...(r ?? { generation: 0, ready: false, errors: [] }), restartRequired: true } : r;
    },
    seed: (pod, entry) => reports.seed(pod, entry),
  };
}
