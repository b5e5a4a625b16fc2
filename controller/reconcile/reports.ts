// What each pod's agent last reported, keyed by pod UID. Reports are persisted
// into the ClientAuthentication status (pods[]), so a restarted controller knows
// which pods already proved what without waiting for every agent again.
import type { PodRef, StatusReport } from "../../protocol/intent.ts";
import type { PodStatusEntry } from "../kube/resources.ts";

export interface PodReport {
  pod: PodRef;
  report: StatusReport;
  receivedAt: Date;
}

export class ReportStore {
  private readonly byUid = new Map<string, PodReport>();

  constructor(private readonly onReport: (pod: PodRef) => void) {}

  put(pod: PodRef, report: StatusReport) {
    this.byUid.set(pod.uid, { pod, report, receivedAt: new Date() });
    this.onReport(pod);
  }

  get(uid: string): StatusReport | undefined {
    return this.byUid.get(uid)?.report;
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
