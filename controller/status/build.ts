// The ClientAuthentication status as data: its base, one entry per pod from its agent's report,
// the cluster-wide summaries, and the comparison that decides whether a write is needed. Pure:
// status/write.ts is the only I/O in status/.
import type { Enforcement, Role, StatusReport } from "../../protocol/intent.ts";
import type { ClientAuthenticationStatus, PodStatusEntry } from "../resources.ts";
import { canonicalJson } from "../../common/canonical-json.ts";
import { kubeTime } from "./conditions.ts";

/** A status that keeps only the generation sequence of the previous one. */
export function baseStatus(prev: Partial<ClientAuthenticationStatus>): ClientAuthenticationStatus {
  return {
    phase: "Disabled",
    enforcement: "none",
    intentGeneration: prev.intentGeneration ?? 0,
    intentHash: prev.intentHash ?? "",
    podsProven: "0/0",
    pods: [],
    conditions: [],
  };
}

export function podEntry(pod: { name: string; uid: string; role: Role; injected: boolean }, report: StatusReport | undefined): PodStatusEntry {
  const entry: PodStatusEntry = { name: pod.name, uid: pod.uid, role: pod.role, injected: pod.injected };
  if (report) {
    entry.appliedGeneration = report.generation;
    if (report.bundleSha256) entry.bundleSha256 = report.bundleSha256;
    if (report.certificate?.notAfter) entry.certificateNotAfter = report.certificate.notAfter;
    if (report.proof) {
      entry.withCertificate = report.proof.withCertificate;
      entry.withoutCertificate = report.proof.withoutCertificate;
    }
    entry.ready = report.ready;
  }
  return entry;
}

/** The cluster's enforcement: `required` when every Elasticsearch pod requires, `optional` when some do. */
export function clusterEnforcement(esPods: Enforcement[]): Enforcement {
  if (esPods.length && esPods.every((e) => e === "required")) return "required";
  return esPods.some((e) => e === "required") ? "optional" : "none";
}

export function earliestExpiry(dates: Date[]): string {
  return kubeTime(new Date(Math.min(...dates.map((d) => d.getTime()))));
}

/** "Did anything change": field order, absent-vs-undefined, observedGeneration and transition times do not count. */
export function sameStatus(a: Partial<ClientAuthenticationStatus>, b: Partial<ClientAuthenticationStatus>): boolean {
  return comparable(a) === comparable(b);
}

function comparable(s: Partial<ClientAuthenticationStatus>): string {
  const { observedGeneration: _o, ...rest } = s;
  return canonicalJson({ ...rest, conditions: rest.conditions?.map(({ lastTransitionTime: _t, ...c }) => c) });
}
