// controller/reconcile/reports.ts: a report queues its cluster's reconcile only when it changed
// something a reconcile reads, never for a retry that only renews the errors and times.
import { describe, expect, test } from "bun:test";
import { ReportStore } from "../../../controller/reconcile/reports.ts";
import type { StatusReport } from "../../../protocol/intent.ts";

const pod = { namespace: "prod", name: "q-es-default-0", uid: "uid-0" };
const failing = (n: number): StatusReport => ({
  generation: 3,
  bundleSha256: "a".repeat(64),
  certificate: { sha256: `c${n}`, notAfter: "2026-12-08T00:00:00Z" },
  proof: { checkedAt: `2026-12-07T12:00:0${n}Z`, withCertificate: "error", withoutCertificate: "error", detail: `connection refused (${n})` },
  ready: false,
  errors: [{ at: `2026-12-07T12:00:0${n}Z`, what: "proof", detail: `connection refused (${n})` }],
});

describe("report store", () => {
  test("a repeated proof failure stores the newest report without queuing a reconcile", () => {
    const queued: string[] = [];
    const store = new ReportStore((p) => queued.push(p.name));
    store.put(pod, failing(1));
    store.put(pod, failing(2));
    store.put(pod, { ...failing(3), bundleOnDiskSha256: "d".repeat(64) });
    expect(queued).toEqual(["q-es-default-0"]);
    expect(store.get(pod.uid)!.errors[0]!.detail).toBe("connection refused (3)");
  });

  test("each field a reconcile reads queues one", () => {
    const queued: string[] = [];
    const store = new ReportStore((p) => queued.push(p.name));
    const base = failing(1);
    const changes: Partial<StatusReport>[] = [
      { generation: 4 },
      { bundleSha256: "b".repeat(64) },
      { certificate: { sha256: "c1", notAfter: "2026-12-09T00:00:00Z" } },
      { proof: { ...base.proof!, withCertificate: "accepted" } },
      { proof: { ...base.proof!, withoutCertificate: "refused" } },
      { ready: true },
      { restartRequired: true },
    ];
    store.put(pod, base);
    for (const c of changes) {
      store.put(pod, { ...base, ...c });
      store.put(pod, base);
    }
    expect(queued.length).toBe(1 + 2 * changes.length);
    // Another pod's first report always counts, whatever the first pod sent.
    store.put({ ...pod, name: "q-es-default-1", uid: "uid-1" }, base);
    expect(queued.at(-1)).toBe("q-es-default-1");
  });

  test("an agent's first report after a seed from status that says the same queues nothing; one that differs does", () => {
    const queued: string[] = [];
    const store = new ReportStore((p) => queued.push(p.name));
    store.seed(pod, { name: pod.name, uid: pod.uid, role: "elasticsearch", injected: true, appliedGeneration: 3, bundleSha256: "a".repeat(64), certificateNotAfter: "2026-12-08T00:00:00Z", withCertificate: "error", withoutCertificate: "error", ready: false });
    store.put(pod, failing(1));
    expect(queued).toEqual([]);
    store.put(pod, { ...failing(2), ready: true });
    expect(queued).toEqual(["q-es-default-0"]);
  });
});
