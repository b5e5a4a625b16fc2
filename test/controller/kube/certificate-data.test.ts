// The on-demand data of labelled Secrets (issue 9 finding 8): their cache holds metadata only;
// when a bundle is built, CertificateDataReader reads a Secret once per resourceVersion and keeps
// only its tls.crt, and only within the per-source limit (a larger one by its size alone), in a
// TextKeeper (the bundle's parse cache in the controller; here a set that records what it drops).
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { CertificateDataReader, type TextKeeper } from "../../../controller/kube/secret-reader.ts";
import { buildTrustBundle } from "../../../controller/trust/bundle.ts";
import { TestCA } from "../../support/test-ca.ts";

const meta = (name: string, rv: string): V1Secret => ({ metadata: { name, namespace: "ns", resourceVersion: rv } });
/** Keeps texts as themselves; `dropped` lists what the reader let go, `evict` stands for a bounded cache letting one go. */
class Texts implements TextKeeper<string> {
  readonly kept = new Set<string>();
  readonly dropped: string[] = [];
  keep(text: string) {
    this.kept.add(text);
    return text;
  }
  holds(text: string) {
    return this.kept.has(text);
  }
  drop(text: string) {
    this.kept.delete(text);
    this.dropped.push(text);
  }
  evict(text: string) {
    this.kept.delete(text);
  }
}

describe("labelled Secret data read on demand", () => {
  test("only tls.crt is kept, read again only when the resourceVersion changes; a deleted Secret is none", async () => {
    const store = new Map<string, V1Secret>([["ns/a", { metadata: { name: "a", namespace: "ns", resourceVersion: "1" }, data: { "tls.crt": btoa("crt-1"), "tls.key": btoa("key"), other: btoa("x".repeat(1000)) } }]]);
    const reads: string[] = [];
    const read = async (namespace: string, name: string) => (reads.push(name), store.get(`${namespace}/${name}`));
    const r = new CertificateDataReader(64 * 1024, new Texts());
    expect((await r.read(meta("a", "1"), read))?.tlsCrtHeld).toBe("crt-1");
    expect((await r.read(meta("a", "1"), read))?.tlsCrtHeld).toBe("crt-1");
    expect(reads).toEqual(["a"]);
    store.set("ns/a", { metadata: { name: "a", namespace: "ns", resourceVersion: "2" }, data: { "tls.crt": btoa("crt-2") } });
    expect((await r.read(meta("a", "2"), read))?.tlsCrtHeld).toBe("crt-2");
    expect(reads).toEqual(["a", "a"]);
    store.delete("ns/a");
    expect(await r.read(meta("a", "3"), read)).toBeUndefined();
    expect(r.size).toBe(0);
  });

  test("a tls.crt over the limit is remembered by its size: the bundle refuses it with that size, no data kept", async () => {
    const big = "A".repeat(70 * 1024);
    const read = async () => ({ metadata: { name: "big", namespace: "ns", resourceVersion: "1" }, data: { "tls.crt": btoa(big) } }) as V1Secret;
    const r = new CertificateDataReader(64 * 1024, new Texts());
    const loaded = await r.read(meta("big", "1"), read);
    expect(loaded?.data).toBeUndefined();
    expect(loaded?.tlsCrtHeld).toBeUndefined();
    expect(loaded?.tlsCrtBytes).toBe(70 * 1024);
    const ca = await TestCA.create("ca");
    const bundle = await buildTrustBundle({ caCertificates: [{ label: "client CA", pem: ca.pem }], secrets: [loaded!] });
    expect(bundle.rejected).toEqual([{ source: "Secret ns/big tls.crt", block: null, code: "SourceTooLarge", reason: "source is 70 KiB, over the 64 KiB limit per source" }]);
  });

  test("prune forgets Secrets no longer labelled", async () => {
    const r = new CertificateDataReader(1024, new Texts());
    const read = async (namespace: string, name: string) => ({ metadata: { name, namespace, resourceVersion: "1" }, data: { "tls.crt": btoa(name) } }) as V1Secret;
    await r.read(meta("a", "1"), read);
    await r.read(meta("b", "1"), read);
    r.prune([meta("b", "1")]);
    expect(r.size).toBe(1);
  });

  test("issue 21: the tls.crt of a Secret pruned or replaced is dropped from the keeper (the parse cache); an unchanged one is not", async () => {
    const texts = new Texts();
    const forgotten = texts.dropped;
    const r = new CertificateDataReader(1024, texts);
    const store = new Map<string, string>([["a", "crt-a"], ["b", "crt-b"]]);
    const read = async (namespace: string, name: string) => (store.has(name) ? ({ metadata: { name, namespace, resourceVersion: store.get(name) }, data: { "tls.crt": btoa(store.get(name)!) } } as V1Secret) : undefined);
    await r.read(meta("a", "crt-a"), read);
    await r.read(meta("b", "crt-b"), read);
    r.prune([meta("a", "crt-a"), meta("b", "crt-b")]);
    expect(forgotten).toEqual([]);
    store.set("a", "crt-a2");
    await r.read(meta("a", "crt-a2"), read);
    expect(forgotten).toEqual(["crt-a"]);
    r.prune([meta("a", "crt-a2")]);
    expect(forgotten).toEqual(["crt-a", "crt-b"]);
    store.delete("a");
    expect(await r.read(meta("a", "gone"), read)).toBeUndefined();
    expect(forgotten).toEqual(["crt-a", "crt-b", "crt-a2"]);
  });

  test("issue 21: forget drops one deleted Secret (from the cache's deletions, no scan of all) and its tls.crt from the keeper", async () => {
    const texts = new Texts();
    const forgotten = texts.dropped;
    const r = new CertificateDataReader(1024, texts);
    const read = async (namespace: string, name: string) => ({ metadata: { name, namespace, resourceVersion: "1" }, data: { "tls.crt": btoa(name) } }) as V1Secret;
    await r.read(meta("a", "1"), read);
    await r.read(meta("b", "1"), read);
    r.forget("ns", "a");
    r.forget("ns", "never-read");
    r.forget("other", "b"); // another namespace's b is another Secret
    expect(r.size).toBe(1);
    expect(forgotten).toEqual(["a"]);
  });

  test("issue 21, third pass: a text the keeper let go (a bounded cache) is read again, once; a tls.crt that is not base64 is handed on as it is", async () => {
    const texts = new Texts();
    const reads: string[] = [];
    const read = async (namespace: string, name: string) => (reads.push(name), { metadata: { name, namespace, resourceVersion: "1" }, data: { "tls.crt": name === "bad" ? "not base64!" : btoa(`crt-${name}`) } }) as V1Secret;
    const r = new CertificateDataReader(1024, texts);
    await r.read(meta("a", "1"), read);
    texts.evict("crt-a");
    expect((await r.read(meta("a", "1"), read))?.tlsCrtHeld).toBe("crt-a");
    expect((await r.read(meta("a", "1"), read))?.tlsCrtHeld).toBe("crt-a");
    expect(reads).toEqual(["a", "a"]);
    expect(texts.dropped).toEqual([]);
    const bad = await r.read(meta("bad", "1"), read);
    expect(bad?.data).toEqual({ "tls.crt": "not base64!" });
    const ca = await TestCA.create("ca");
    const bundle = await buildTrustBundle({ caCertificates: [{ label: "client CA", pem: ca.pem }], secrets: [bad!] });
    expect(bundle.rejected).toEqual([{ source: "Secret ns/bad tls.crt", block: null, code: "SourceUnreadable", reason: "tls.crt is not valid base64" }]);
  });
});
