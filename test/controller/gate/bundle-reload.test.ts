// A bundle on a pod's disk is not yet a bundle its Elasticsearch serves: ES re-reads the file on a
// 5 s poll. The signer (a rotated CA signs only once every ES pod trusts it) and the Kibana restart
// gate wait ES_RELOAD_MS after each pod first reported the bundle. Found by the transitions-under-load
// test: the controller's own certificate, reissued by the new CA as soon as every agent reported
// the bundle written, was refused for up to ~4.5 s by pods that had not re-read it. And once the
// new CA signed, a later bundle change (a labelled Secret) must not hand signing back to the
// outgoing CA (seen in the same test: short-lived leaves of the old CA, Kibana restarts).
import { expect, test } from "bun:test";
import { bundleReloadedInMs, ES_RELOAD_MS, waitingForBundle } from "../../../controller/gate/proofs.ts";
import { ReportStore } from "../../../controller/reconcile/reports.ts";
import { chooseSigner } from "../../../controller/gate/signer.ts";
import type { StatusReport } from "../../../protocol/intent.ts";

const report = (bundleSha256: string): StatusReport => ({ generation: 1, bundleSha256, ready: true, errors: [] });
const pod = (name: string) => ({ namespace: "ns", name, uid: `uid-${name}` });

test("a pod counts as serving the bundle only ES_RELOAD_MS after it first reported it on disk", () => {
  const store = new ReportStore(() => {});
  const t0 = new Date("2026-11-29T00:00:00Z");
  const at = (ms: number) => new Date(t0.getTime() + ms);
  store.put(pod("es-0"), report("old"), t0);
  store.put(pod("es-0"), report("new"), at(1000));
  store.put(pod("es-1"), report("new"), at(3000));
  // Reported again with the same bundle: the clock does not restart.
  store.put(pod("es-0"), report("new"), at(2500));
  const pods = () => ["es-0", "es-1", "es-2"].map((n) => ({ name: n, report: store.get(`uid-${n}`), bundleSince: store.bundleSince(`uid-${n}`) }));
  expect(store.bundleSince("uid-es-0")).toEqual(at(1000));
  expect(waitingForBundle(pods(), "new", at(1000 + ES_RELOAD_MS - 1))).toEqual(["es-0", "es-1", "es-2"]);
  expect(waitingForBundle(pods(), "new", at(1000 + ES_RELOAD_MS))).toEqual(["es-1", "es-2"]);
  store.put(pod("es-2"), report("new"), at(4000));
  expect(waitingForBundle(pods(), "new", at(4000 + ES_RELOAD_MS))).toEqual([]);
  // When to look again: when the last pod on its way has re-read it; nothing to wait for after that.
  expect(bundleReloadedInMs(pods(), "new", at(3500))).toBe(4000 + ES_RELOAD_MS - 3500);
  expect(bundleReloadedInMs(pods(), "new", at(4000 + ES_RELOAD_MS))).toBeUndefined();
  // Without a known first-report time (a caller without the store) only the bundle on disk counts.
  expect(waitingForBundle([{ name: "x", report: report("new") }], "new", at(0))).toEqual([]);
});

test("a report seeded from the persisted status after a controller restart waits one reload interval", () => {
  const store = new ReportStore(() => {});
  const before = Date.now();
  store.seed(pod("es-0"), { name: "es-0", uid: "uid-es-0", role: "elasticsearch", injected: true, appliedGeneration: 1, bundleSha256: "new" });
  const since = store.bundleSince("uid-es-0")!.getTime();
  expect(since).toBeGreaterThanOrEqual(before);
  expect(waitingForBundle([{ name: "es-0", report: store.get("uid-es-0"), bundleSince: new Date(since) }], "new", new Date(since + 1000))).toEqual(["es-0"]);
});

test("a rotated CA that signed once keeps signing while a later bundle travels; before that the outgoing CA signs", () => {
  expect(chooseSigner("new", "old", ["es-0"]).signer).toBe("old");
  expect(chooseSigner("new", "old", []).signer).toBe("new");
  expect(chooseSigner("new", "old", ["es-0"], true).signer).toBe("new");
  expect(chooseSigner("new", undefined, ["es-0"]).signer).toBe("new");
});
