// Before a CSR is signed (controller/intent-api/signing-authority.ts, issue 18): the pod still
// belongs to the cluster its intent names, and a Kibana of another namespace may still reference it
// (asked afresh). Labels are spelled out: they are ECK's contract.
import { describe, expect, test } from "bun:test";
import type { V1Pod } from "@kubernetes/client-node";
import { signingAuthority } from "../../../controller/intent-api/signing-authority.ts";
import type { Kibana } from "../../../controller/resources.ts";
import { FakeCache } from "../../support/cluster-fakes.ts";

const kibana = (namespace: string, name: string, ref: { name: string; namespace?: string }, serviceAccountName?: string): Kibana =>
  ({ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { namespace, name, uid: `kb-${namespace}-${name}` }, spec: { elasticsearchRef: ref, ...(serviceAccountName ? { serviceAccountName } : {}) } }) as Kibana;
const pod = (namespace: string, name: string, labels: Record<string, string>): V1Pod => ({ metadata: { namespace, name, uid: `uid-${name}`, labels } });
const ref = (p: V1Pod) => ({ namespace: p.metadata!.namespace!, name: p.metadata!.name!, uid: p.metadata!.uid! });

function world() {
  const pods = new FakeCache<V1Pod>();
  const kibanas = new FakeCache<Kibana>();
  const asked: string[] = [];
  let allowed = true;
  const references = {
    authorize: async (from: { namespace: string; serviceAccount: string }, to: { namespace: string; name: string }, options?: { fresh?: boolean }) => {
      asked.push(`${from.namespace}/${from.serviceAccount} -> ${to.namespace}/${to.name}${options?.fresh ? " (fresh)" : ""}`);
      return allowed ? { allowed: true as const } : { allowed: false as const, reason: `ServiceAccount ${from.namespace}/${from.serviceAccount} may not get elasticsearches/${to.name} in namespace ${to.namespace}` };
    },
  };
  const mayCertify = signingAuthority({ pods: (namespace, name) => pods.get(name, namespace), kibanas, references });
  return { pods, kibanas, asked, mayCertify, deny: () => (allowed = false) };
}

describe("signingAuthority", () => {
  test("an Elasticsearch pod of the intent's cluster: signed; after its cluster label changed: refused, naming both clusters", async () => {
    const w = world();
    const es = pod("prod", "quickstart-es-default-0", { "elasticsearch.k8s.elastic.co/cluster-name": "quickstart" });
    w.pods.put(es);
    expect(await w.mayCertify(ref(es), { namespace: "prod", name: "quickstart" })).toEqual({ ok: true });
    w.pods.put(pod("prod", "quickstart-es-default-0", { "elasticsearch.k8s.elastic.co/cluster-name": "other" }));
    const refused = await w.mayCertify(ref(es), { namespace: "prod", name: "quickstart" });
    expect(refused).toEqual({ ok: false, reason: "pod prod/quickstart-es-default-0 has an intent of cluster prod/quickstart but belongs to prod/other now: not signed by either cluster's CA (the intent is stale)" });
    expect(w.asked).toEqual([]); // same namespace: no review
  });

  test("a Kibana re-pointed at another namespace's cluster, holding its old cluster's intent: refused, naming both", async () => {
    const w = world();
    const kb = pod("b", "kb-kb-0", { "kibana.k8s.elastic.co/name": "kb" });
    w.pods.put(kb);
    w.kibanas.put(kibana("b", "kb", { name: "quickstart", namespace: "prod" }));
    const decision = await w.mayCertify(ref(kb), { namespace: "b", name: "own" });
    expect(decision.ok).toBe(false);
    expect(!decision.ok && decision.reason).toContain("has an intent of cluster b/own but belongs to prod/quickstart now");
  });

  test("a Kibana of another namespace: its reference is asked afresh, for its Kibana's ServiceAccount; refused once RBAC no longer allows it", async () => {
    const w = world();
    const kb = pod("c", "kb-kb-0", { "kibana.k8s.elastic.co/name": "kb" });
    w.pods.put(kb);
    w.kibanas.put(kibana("c", "kb", { name: "shared", namespace: "prod" }, "kibana-sa"));
    expect(await w.mayCertify(ref(kb), { namespace: "prod", name: "shared" })).toEqual({ ok: true });
    w.deny();
    const refused = await w.mayCertify(ref(kb), { namespace: "prod", name: "shared" });
    expect(!refused.ok && refused.reason).toBe("pod c/kb-kb-0: Kibana c/kb may no longer reference cluster prod/shared: ServiceAccount c/kibana-sa may not get elasticsearches/shared in namespace prod");
    expect(w.asked).toEqual(["c/kibana-sa -> prod/shared (fresh)", "c/kibana-sa -> prod/shared (fresh)"]);
  });

  test("a pod that is gone, or re-created under the same name (another UID), or a Kibana pod whose Kibana is gone: refused", async () => {
    const w = world();
    const kb = pod("b", "kb-kb-0", { "kibana.k8s.elastic.co/name": "kb" });
    expect(await w.mayCertify(ref(kb), { namespace: "b", name: "own" })).toMatchObject({ ok: false, reason: expect.stringContaining("no longer exists") });
    w.pods.put({ ...kb, metadata: { ...kb.metadata, uid: "another" } });
    expect(await w.mayCertify(ref(kb), { namespace: "b", name: "own" })).toMatchObject({ ok: false, reason: expect.stringContaining("no longer exists") });
    w.pods.put(kb);
    expect(await w.mayCertify(ref(kb), { namespace: "b", name: "own" })).toMatchObject({ ok: false, reason: expect.stringContaining("belongs to no cluster now") });
  });
});
