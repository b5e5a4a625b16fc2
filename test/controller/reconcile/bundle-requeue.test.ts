// Issue 8, item 5: the cluster is reconciled again a second after the earliest notAfter among the
// bundle's certificates, so an expiring user certificate leaves the bundle then, not at the resync.
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import type { Kibana } from "../../../controller/resources.ts";
import { bundleRequeueMs } from "../../../controller/reconcile/trust-bundle.ts";
import { selfSignedClient } from "../../support/test-ca.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const kb: Kibana = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb", namespace: NS, uid: "uid-kb" }, spec: { elasticsearchRef: { name: ES_NAME } } };
const labelled = (name: string, pem: string): V1Secret => ({
  metadata: { name, namespace: NS, uid: `uid-${name}`, labels: clientCertLabels(ES_NAME, NS), ownerReferences: [{ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", name: "kb", uid: "uid-kb" }] },
  data: { "tls.crt": btoa(pem) },
});
const bundleOf = (h: ReturnType<typeof setup>) => atob(h.caches.managedSecrets.whole(`${ES_NAME}-es-client-trust-bundle`, NS)!.data!["client-trust-bundle.crt"]!);
const body = (pem: string) => pem.split("\n").slice(1, 3).join("\n");

describe("requeue at the bundle's earliest notAfter", () => {
  test("bundleRequeueMs: a second after the earliest notAfter; Infinity for none", () => {
    const now = new Date("2026-01-01T00:00:00Z");
    const at = (s: number) => new Date(now.getTime() + s * 1000).toISOString();
    expect(bundleRequeueMs({ included: [{ notAfter: at(3600) }, { notAfter: at(90) }] as never }, now)).toBe(91_000);
    expect(bundleRequeueMs({ included: [] }, now)).toBe(Infinity);
    // Just expired between the build and this call: soon, never a busy loop.
    expect(bundleRequeueMs({ included: [{ notAfter: at(-5) }] as never }, now)).toBe(250);
  });

  test("a labelled user certificate expiring in a minute sets the reconcile's requeue to its notAfter + 1 s", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    h.caches.kibana.put(kb);
    // Without it the requeue is the PKI's or the resync (5 minutes): the baseline this test moves.
    const baseline = (await h.reconcile()).requeueAfterMs!;
    expect(baseline).toBeGreaterThan(120_000);

    const notAfter = new Date(Date.now() + 60_000);
    const user = await selfSignedClient({ cn: "expiring-user", notAfter });
    h.caches.clientCertSecrets.put(labelled("expiring-user", user.certPem));
    const before = Date.now();
    const r = await h.reconcile();
    expect(bundleOf(h)).toContain(body(user.certPem));
    const due = notAfter.getTime() + 1000; // notAfter has second precision in X.509; compare with the parsed one
    const parsed = user.certificate.notAfter.getTime() + 1000;
    expect(Math.abs(due - parsed)).toBeLessThan(1000);
    expect(r.requeueAfterMs!).toBeLessThanOrEqual(parsed - before);
    expect(r.requeueAfterMs!).toBeGreaterThan(parsed - Date.now() - 50);
  });
});

describe("the status report's optional bundleOnDiskSha256", () => {
  test("is accepted as a string and refused otherwise", async () => {
    const { parseStatusReport } = await import("../../../controller/intent-api/status-report.ts");
    const base = { generation: 1, ready: true, errors: [], bundleSha256: "a" };
    expect(parseStatusReport({ ...base, bundleOnDiskSha256: "b" }).ok).toBe(true);
    expect(parseStatusReport(base).ok).toBe(true);
    expect(parseStatusReport({ ...base, bundleOnDiskSha256: 5 })).toEqual({ ok: false, reason: "bundleOnDiskSha256: must be a string" });
  });
});
