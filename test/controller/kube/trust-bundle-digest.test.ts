// Issue 21, third pass: the trust-bundle Secret was kept whole (its base64 bundle, 7.5 KB per
// cluster at 1,000 clusters) only so the reconciler could compare it with the bundle it wants.
// WholeSecretKeeper keeps a digest of that value instead; the drift check compares digests.
import { describe, expect, test } from "bun:test";
import { heapStats } from "bun:jsc";
import type { V1Secret } from "@kubernetes/client-node";
import { WholeSecretKeeper } from "../../../controller/kube/secret-reader.ts";
import { desiredTrustBundleSecret, isUpToDate, trustBundleDrift } from "../../../controller/trust/target.ts";
import { TRUST_BUNDLE_KEY } from "../../../controller/names.ts";

const MiB = 1024 * 1024;
const extraMiB = () => {
  Bun.gc(true);
  return heapStats().extraMemorySize / MiB;
};
const owner = { namespace: "ns", name: "es", uid: "uid-es" };
const bundleOf = (pem: string) => ({ pem, sha256: "x" }) as Parameters<typeof desiredTrustBundleSecret>[1];
/** A flat PEM-ish text of `n` characters, distinct per seed. */
const text = (n: number, seed: number) => `${seed}:`.padEnd(n, String.fromCharCode(97 + (seed % 26)));
const stored = (pem: string, rv: string): V1Secret => {
  const s = desiredTrustBundleSecret(owner, bundleOf(pem));
  return { ...s, metadata: { ...s.metadata, resourceVersion: rv } };
};
const meta = (name: string, rv: string): V1Secret => ({ metadata: { name, namespace: "ns", resourceVersion: rv } });

describe("the trust-bundle Secret is kept as a digest of its data", () => {
  test("what is kept compares equal to the bundle it holds and different from any other; other keys are kept as they are", async () => {
    const pem = text(2000, 1);
    const keeper = new WholeSecretKeeper();
    let current: V1Secret = { ...stored(pem, "1"), data: { ...stored(pem, "1").data, other: btoa("kept") } };
    const kept = await keeper.read(meta("es-es-client-trust-bundle", "1"), async () => current);
    expect(kept?.data?.[TRUST_BUNDLE_KEY]).toBeUndefined();
    expect(kept?.data?.other).toBe(btoa("kept"));
    expect(isUpToDate(kept, desiredTrustBundleSecret(owner, bundleOf(pem)))).toBe(true);
    expect(trustBundleDrift(kept, desiredTrustBundleSecret(owner, bundleOf(text(2000, 2))))).toEqual([`data ${TRUST_BUNDLE_KEY} differs`]);
    // Someone edits the data: the new resourceVersion is read, and the edit is drift.
    current = { ...stored(pem, "2"), data: { [TRUST_BUNDLE_KEY]: btoa("edited") } };
    const edited = await keeper.read(meta("es-es-client-trust-bundle", "2"), async () => current);
    expect(trustBundleDrift(edited, desiredTrustBundleSecret(owner, bundleOf(pem)))).toEqual([`data ${TRUST_BUNDLE_KEY} differs`]);
    // The key removed: drift too.
    current = { ...stored(pem, "3"), data: {} };
    const emptied = await keeper.read(meta("es-es-client-trust-bundle", "3"), async () => current);
    expect(trustBundleDrift(emptied, desiredTrustBundleSecret(owner, bundleOf(pem)))).toEqual([`data ${TRUST_BUNDLE_KEY} differs`]);
    expect(keeper.reads).toBe(3);
  });

  test("100 kept bundles of 64 KiB hold well under their 8.5 MiB of base64", async () => {
    const keeper = new WholeSecretKeeper();
    const before = extraMiB();
    for (let i = 0; i < 100; i++) {
      // Built in the read: the only reference left to the apiserver's copy is what the keeper keeps.
      await keeper.read(meta(`es${i}-es-client-trust-bundle`, "1"), async (namespace, name) => ({ ...stored(text(64 * 1024, i), "1"), metadata: { name, namespace, resourceVersion: "1" } }));
    }
    const held = extraMiB() - before;
    expect(keeper.size).toBe(100);
    // 100 × 85 KiB of base64 = 8.3 MiB when the value is kept.
    expect(held).toBeLessThan(1);
  });
});
