// Issue 8, item 5, as units: readiness counts this pod's own leaf and proof only, never the bundle's
// entries; an intent's expired bundle entries are dropped (its sha kept for the report), a bundle
// with nothing valid left is refused.
import { describe, expect, test } from "bun:test";
import type { Intent } from "../../../protocol/intent.ts";
import { sha256Hex } from "../../../common/digest.ts";
import { bundleOf } from "../../../agent/intent/check.ts";
import { PemError, validBundlePart } from "../../../agent/material/pem.ts";
import type { Certificate } from "../../../agent/material/certificate.ts";
import type { Material } from "../../../agent/material/material.ts";
import type { ProofRecord } from "../../../agent/prove/proof-loop.ts";
import { Readiness } from "../../../agent/report/readiness.ts";
import { statusReport, type AgentState } from "../../../agent/report/status.ts";
import { TestCA, issueCertificate } from "../../support/test-ca.ts";

const ca = await TestCA.create("cluster client ca");
const userCa = await TestCA.create("user ca");
const gone = await issueCertificate(ca, { cn: "gone-user", notBefore: new Date(Date.now() - 7200_000), notAfter: new Date(Date.now() - 60_000) });
const own = await issueCertificate(ca, { cn: "pod", notAfter: new Date(Date.now() + 3600_000) });
const proof = (version: number, ok = true): ProofRecord => ({ ok, version, checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: "refused", detail: "test" });
const material = (bundleNotAfter: number, leafNotAfter = own.certificate.notAfter): Material => ({
  bundle: { pem: ca.pem, sha256: "x", earliestNotAfter: new Date(bundleNotAfter) },
  identity: { certPem: own.certPem, keyPem: "", leaf: { notAfter: leafNotAfter } as Certificate, sha256: "y", writtenAt: 0 },
});
const intent = (pem: string): Intent => ({
  type: "intent", generation: 7, pod: { namespace: "ns", name: "p", uid: "u" }, role: "elasticsearch", cluster: { namespace: "ns", name: "c" }, phase: "Enabled", enforcement: "required",
  trustBundle: { pem, sha256: sha256Hex(pem) }, files: { dir: "/d", bundle: "b.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: 0, gid: 0 },
});

describe("readiness reflects this pod only", () => {
  test("an expired bundle entry never makes the pod unready; its own expired leaf does", () => {
    const r = new Readiness();
    const now = Date.now();
    const m = material(now - 1000);
    expect(r.evaluate({ material: m, materialVersion: 1, proof: proof(1) }, now)).toEqual({ ready: true, reason: "ok: material on disk and proven loaded" });
    const expiredLeaf = material(now + 3600_000, new Date(now - 1));
    expect(r.evaluate({ material: expiredLeaf, materialVersion: 1, proof: proof(1) }, now).ready).toBe(false);
  });

  test("the latch holds until the pod's own leaf expires, not the bundle's earliest entry", () => {
    const r = new Readiness();
    const now = Date.now();
    const m = material(now + 1000);
    r.noteProof(proof(1), m);
    // Version 2 (the bundle minus the expired entry) is written, its proof pending: still ready after the entry expired.
    const v = r.evaluate({ material: material(now + 3600_000), materialVersion: 2, proof: proof(1) }, now + 5000);
    expect(v).toEqual({ ready: true, reason: "ok: previous material proven; proof of the current version pending" });
    expect(r.evaluate({ material: m, materialVersion: 2, proof: proof(1) }, own.certificate.notAfter.getTime() + 1).ready).toBe(false);
  });
});

describe("expired bundle entries are dropped, not refused", () => {
  test("bundleOf writes the valid rest, keeps the intent's sha and lists what it dropped", () => {
    const pem = ca.pem + gone.certPem + userCa.pem;
    const b = bundleOf(intent(pem))!;
    expect(b.pem).toBe(ca.pem + userCa.pem);
    expect(b.sha256).toBe(sha256Hex(b.pem));
    expect(b.intentSha256).toBe(sha256Hex(pem));
    expect(b.dropped).toEqual([{ block: 2, subject: "CN=gone-user", notAfter: gone.certificate.notAfter }]);
    // Nothing dropped: the intent's text as is, no intentSha256 (the report's two hashes agree).
    const whole = bundleOf(intent(ca.pem))!;
    expect(whole.pem).toBe(ca.pem);
    expect(whole.intentSha256).toBeUndefined();
  });

  test("nothing valid left: refused (a PemError, so not retried) with the reason", () => {
    expect(() => bundleOf(intent(gone.certPem))).toThrow(PemError);
    expect(() => validBundlePart(gone.certPem, "trust bundle")).toThrow(/trust bundle: all 1 certificate\(s\) have expired \(the last at .*\); an empty bundle is never written/);
  });

  test("malformed content is still refused whole", () => {
    expect(() => validBundlePart(ca.pem + gone.certPem + "junk")).toThrow(/unexpected text outside PEM blocks/);
  });

  test("the status report carries the intent's sha (what the controller compares) and the disk's", () => {
    const pem = ca.pem + gone.certPem;
    const b = bundleOf(intent(pem))!;
    const s = { generation: 7, intent: undefined, material: { bundle: b }, materialVersion: 1, proof: undefined, restartRequired: false, readiness: { ready: true, reason: "" }, errors: [], connected: true, started: true, dir: "/d" } as AgentState;
    const r = statusReport(s);
    expect(r.bundleSha256).toBe(sha256Hex(pem));
    expect(r.bundleOnDiskSha256).toBe(sha256Hex(ca.pem));
    expect(statusReport({ ...s, material: { bundle: bundleOf(intent(ca.pem))! } }).bundleOnDiskSha256).toBeUndefined();
  });
});
