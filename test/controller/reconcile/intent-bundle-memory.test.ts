// Issue 21, third pass: each cluster's intents kept its trust bundle's PEM joined (5.7 KB per
// cluster at 1,000 clusters), next to the parse cache that holds every certificate's text. The
// intents now carry the bundle's parts and join them when an intent is read (sent to an agent):
// the same JSON goes out, and no joined copy stays once it is sent.
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import type { Kibana } from "../../../controller/resources.ts";
import { selfSignedClient } from "../../support/test-ca.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const kb: Kibana = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb", namespace: NS, uid: "uid-kb" }, spec: { elasticsearchRef: { name: ES_NAME } } };
const labelled = (name: string, pem: string): V1Secret => ({
  metadata: { name, namespace: NS, uid: `uid-${name}`, labels: clientCertLabels(ES_NAME, NS), ownerReferences: [{ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", name: "kb", uid: "uid-kb" }] },
  data: { "tls.crt": btoa(pem) },
});
const bundleOf = (h: ReturnType<typeof setup>) => atob(h.caches.managedSecrets.whole(`${ES_NAME}-es-client-trust-bundle`, NS)!.data!["client-trust-bundle.crt"]!);
/** A copy of its own (a slice would share `s`'s characters on JSC). */
const copy = (s: string) => Buffer.from(s, "latin1").toString("latin1");

/** Strings in this process's heap (a snapshot after a full collection) of at least `length` characters starting with `prefix` (≤ 1,024: a snapshot names a string by its first 1,024). */
function stringsStartingWith(prefix: string, length: number): number {
  Bun.gc(true);
  const snap = JSON.parse(Bun.generateHeapSnapshot("v8")) as { snapshot: { meta: { node_fields: string[]; node_types: [string[]] } }; nodes: number[]; strings: string[] };
  const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
  const [type, name, size] = ["type", "name", "self_size"].map((f) => fields.indexOf(f)) as [number, number, number];
  let n = 0;
  for (let i = 0; i < snap.nodes.length; i += fields.length) {
    if (!types[snap.nodes[i + type]!]!.includes("string") || snap.nodes[i + size]! < length) continue;
    if (snap.strings[snap.nodes[i + name]!]!.startsWith(prefix)) n++;
  }
  return n;
}
/** The end of the current job: what a WeakRef held for it may go. */
const nextTurn = () => new Promise((resolve) => setImmediate(resolve));

describe("an intent's trust bundle is joined when it is read, not kept joined", () => {
  test("the intent sends the bundle the Secret holds; afterwards no string of the whole bundle is left in the heap", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required"), esPod("quickstart-es-default-1", "required")] });
    h.caches.kibana.put(kb);
    for (let i = 0; i < 4; i++) h.caches.clientCertSecrets.put(labelled(`user-${i}`, (await selfSignedClient({ cn: `user-${i}` })).certPem));
    await h.reconcile();
    let bundle: string | undefined = bundleOf(h);
    const intents = ["quickstart-es-default-0", "quickstart-es-default-1"].map((pod) => h.intents.get(NS, pod)!);
    for (const intent of intents) {
      const sent = JSON.parse(JSON.stringify(intent)) as typeof intent;
      expect(sent.trustBundle).toEqual({ pem: bundle, sha256: new Bun.CryptoHasher("sha256").update(bundle).digest("hex") });
      expect({ ...intent.trustBundle! }).toEqual(sent.trustBundle!);
    }
    expect(bundle.split("-----BEGIN CERTIFICATE-----")).toHaveLength(6); // the CA and 4 users
    const prefix = copy(bundle.slice(0, 1024));
    const length = bundle.length;
    bundle = undefined;
    await nextTurn();
    // Before: the intents' joined PEM (one, shared by the cluster's pods).
    expect(stringsStartingWith(prefix, length)).toBe(0);
    // Read again: the same text.
    expect(intents[0]!.trustBundle!.pem).toBe(bundleOf(h));
  });
});
