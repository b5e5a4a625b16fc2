// What each pod's agent last reported, keyed by pod UID. Reports are persisted
// into the ClientAuthentication status (pods[]), so a restarted controller knows
// which pods already proved what without waiting for every agent again.
import type { PodRef, StatusReport } from "../../protocol/intent.ts";
import type { PodStatusEntry } from "../resources.ts";

interface PodReport {
  pod: PodRef;
  report: StatusReport;
  receivedAt: Date;
  /** When the pod first reported the bundle it reports now: its Elasticsearch re-reads the file some seconds later (gate/proofs.ts). */
  bundleSince: Date;
}

export class ReportStore {
  private readonly byUid = new Map<string, PodReport>();

  constructor(private readonly onReport: (pod: PodRef) => void) {}

  /**
   * Stores the pod's newest report; its cluster is reconciled (onReport) only when the report
   * changed something a reconcile reads. An agent whose proof keeps failing reports every retry
   * with only the error text and times new, and each report queued a reconcile of all the
   * cluster's pods (1,100 in bench/propagation.ts).
   */
  put(pod: PodRef, report: StatusReport, now = new Date()) {
    const prev = this.byUid.get(pod.uid);
    const bundleSince = prev && prev.report.bundleSha256 === report.bundleSha256 ? prev.bundleSince : now;
    this.byUid.set(pod.uid, { pod, report, receivedAt: now, bundleSince });
    if (!prev || prev.pod.namespace !== pod.namespace || prev.pod.name !== pod.name || readByReconcile(prev.report) !== readByReconcile(report)) this.onReport(pod);
  }

  get(uid: string): StatusReport | undefined {
    return this.byUid.get(uid)?.report;
  }

  bundleSince(uid: string): Date | undefined {
    return this.byUid.get(uid)?.bundleSince;
  }

  forget(uid: string) {
    this.byUid.delete(uid);
  }

  /** Seeds from a persisted status entry when nothing fresher arrived since start. */
  seed(pod: PodRef, entry: PodStatusEntry & { uid?: string }) {
    if (this.byUid.has(pod.uid) || entry.uid !== pod.uid || entry.appliedGeneration === undefined) return;
    const result = (v: string | undefined) => (v === "accepted" || v === "refused" || v === "error" ? v : "error");
    this.byUid.set(pod.uid, {
      pod,
      receivedAt: new Date(0),
      // A restarted controller does not know when the pod's Elasticsearch re-read it: one reload interval from now.
      bundleSince: new Date(),
      report: {
        generation: entry.appliedGeneration,
        bundleSha256: entry.bundleSha256,
        certificate: entry.certificateNotAfter ? { sha256: "", notAfter: entry.certificateNotAfter } : undefined,
        proof:
          entry.withCertificate || entry.withoutCertificate
            ? { checkedAt: "", withCertificate: result(entry.withCertificate), withoutCertificate: result(entry.withoutCertificate), detail: "from persisted status" }
            : undefined,
        ready: entry.ready ?? false,
        errors: [],
      },
    });
  }
}

/**
 * What a reconcile reads of a report (status/build.ts podEntry, gate/proofs.ts, reconcile/restart.ts,
 * reconcile/signer.ts through bundleSince, which changes only with bundleSha256): not the errors, the
 * proof's time and detail, the certificate's digest or the bundle on disk. A field read there must be
 * added here.
 */
function readByReconcile(r: StatusReport): string {
  return JSON.stringify([r.generation, r.bundleSha256 ?? null, r.certificate?.notAfter ?? null, r.proof?.withCertificate ?? null, r.proof?.withoutCertificate ?? null, r.ready, r.restartRequired === true]);
}
