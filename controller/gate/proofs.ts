// What counts as proof: a pod's agent reported, ready, that its local workload behaves as the
// cluster's current state says. Elasticsearch: it loaded the current bundle, accepts a certificate
// that bundle trusts, and refuses (or accepts) a client without one exactly as it enforces. Kibana:
// it presents a certificate Elasticsearch accepts.
import type { Enforcement, Role, StatusReport } from "../../protocol/intent.ts";

export function proves(report: StatusReport | undefined, role: Role, enforcement: Enforcement, bundleSha256: string): boolean {
  if (!report?.proof || !report.ready) return false;
  if (role === "kibana") return report.proof.withCertificate === "accepted";
  if (report.bundleSha256 !== bundleSha256 || report.proof.withCertificate !== "accepted") return false;
  return enforcement === "required" ? report.proof.withoutCertificate === "refused" : report.proof.withoutCertificate === "accepted";
}

/** Elasticsearch pods whose agent has not reported the current bundle on disk (by name). */
export function waitingForBundle(esPods: { name: string; report: StatusReport | undefined }[], bundleSha256: string): string[] {
  return esPods.filter((p) => p.report?.bundleSha256 !== bundleSha256).map((p) => p.name);
}
