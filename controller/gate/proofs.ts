// What counts as proof: a pod's agent reported, ready, that its local workload behaves as the
// cluster's current state says. Elasticsearch: it loaded the current bundle, accepts a certificate
// that bundle trusts, and refuses (or accepts) a client without one exactly as it enforces. Kibana:
// it presents a certificate Elasticsearch accepts.
import type { Enforcement, Role, StatusReport } from "../../protocol/intent.ts";

export function proves(report: StatusReport | undefined, role: Role, enforcement: Enforcement, bundleSha256: string): boolean {
  if (!report?.proof || !report.ready) return false;
  if (role === "kibana") return report.proof.withCertificate === "accepted";
  if (report.bundleSha256 !== bundleSha256) return false;
  return shown(report) === (enforcement === "required" ? "required" : "none");
}

/** What an Elasticsearch pod's last proof showed it enforces, whatever bundle it had: refused without a certificate = required. */
export function provenEnforcement(report: StatusReport | undefined): Enforcement {
  return shown(report) === "required" ? "required" : "none";
}

/** The one rule: a ready proof that accepted a certificate shows `required` when it refused a client without one, `none` when it accepted it. */
function shown(report: StatusReport | undefined): "required" | "none" | undefined {
  if (!report?.proof || !report.ready || report.proof.withCertificate !== "accepted") return undefined;
  if (report.proof.withoutCertificate === "refused") return "required";
  return report.proof.withoutCertificate === "accepted" ? "none" : undefined;
}

/**
 * How long after the bundle is on a pod's disk its Elasticsearch surely serves it: ES re-reads
 * changed SSL files on its resource watcher's poll (`resource.reload.interval.high`, 5 s by
 * default, which ECK keeps), plus a margin for the poll's own delay. Until then a certificate
 * only the new bundle trusts is still refused (measured: up to 4.8 s).
 */
export const ES_RELOAD_MS = 6000;

/**
 * Elasticsearch pods that may not serve the current bundle yet (by name): their agent has not
 * reported it on disk, or reported it less than `reloadMs` ago (`bundleSince`: when it first did).
 */
export function waitingForBundle(esPods: { name: string; report: StatusReport | undefined; bundleSince?: Date }[], bundleSha256: string, now = new Date(), reloadMs = ES_RELOAD_MS): string[] {
  return esPods.filter((p) => p.report?.bundleSha256 !== bundleSha256 || reloading(p.bundleSince, now, reloadMs)).map((p) => p.name);
}

/** Milliseconds until the last pod that has the current bundle on disk has surely re-read it; undefined when none is still re-reading. */
export function bundleReloadedInMs(esPods: { report: StatusReport | undefined; bundleSince?: Date }[], bundleSha256: string, now = new Date(), reloadMs = ES_RELOAD_MS): number | undefined {
  const left = esPods.filter((p) => p.report?.bundleSha256 === bundleSha256 && reloading(p.bundleSince, now, reloadMs)).map((p) => p.bundleSince!.getTime() + reloadMs - now.getTime());
  return left.length ? Math.max(...left) : undefined;
}

const reloading = (since: Date | undefined, now: Date, reloadMs: number) => since !== undefined && now.getTime() - since.getTime() < reloadMs;
