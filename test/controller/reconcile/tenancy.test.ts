// Issue 9, items 1, 2, 3 and 6, on the reconciler with fakes: a namespace is a trust boundary.
// (test/integration/tenancy.test.ts shows the same against the real apiserver and its RBAC.)
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { referenceAuthorizer } from "../../../controller/kube/reference-authorizer.ts";
import type { Kibana } from "../../../controller/resources.ts";
import { FOREIGN_NAMESPACE_BUDGET_BYTES } from "../../../controller/reconcile/trust-bundle.ts";
import { TestCA, selfSignedClient } from "../../support/test-ca.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const kibana = (namespace: string, name: string, ref: Record<string, string> = { name: ES_NAME, namespace: NS }): Kibana => ({
  apiVersion: "kibana.k8s.elastic.co/v1",
  kind: "Kibana",
  metadata: { name, namespace, uid: `uid-kb-${namespace}-${name}` },
  spec: { elasticsearchRef: ref },
});
const kibanaPod = (kb: Kibana, name: string) => ({
  metadata: { name, namespace: kb.metadata.namespace, uid: `uid-${kb.metadata.namespace}-${name}`, labels: { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": kb.metadata.name } },
  spec: { containers: [{ name: "kibana" }] },
});
const labelled = (namespace: string, name: string, owner: Kibana, pem: string): V1Secret => ({
  metadata: { name, namespace, uid: `uid-${namespace}-${name}`, labels: clientCertLabels(ES_NAME, NS), ownerReferences: [{ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", name: owner.metadata.name, uid: owner.metadata.uid }] },
  data: { "tls.crt": btoa(pem) },
});
const bundleOf = (h: ReturnType<typeof setup>) => atob(h.caches.managedSecrets.whole(`${ES_NAME}-es-client-trust-bundle`, NS)!.data!["client-trust-bundle.crt"]!);
const body = (pem: string) => pem.split("\n").slice(1, 3).join("\n");
const grant = (h: ReturnType<typeof setup>, ns: string, sa = "default") => h.allowedRefs.add(`system:serviceaccount:${ns}:${sa}->${NS}/${ES_NAME}`);

describe("a namespace is a trust boundary", () => {
  test("a labelled Secret of another namespace counts only when its owner's ServiceAccount may get the Elasticsearch", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const tenantKb = kibana("tenant", "kb", {});
    h.caches.kibana.put(tenantKb);
    const leaf = await selfSignedClient({ cn: "tenant-client" });
    h.caches.clientCertSecrets.put(labelled("tenant", "client", tenantKb, leaf.certPem));
    await h.reconcile();
    expect(bundleOf(h)).not.toContain(body(leaf.certPem));
    const onSecret = h.events.byKind.filter((e) => e.kind === "Secret" && e.reason === "UntrustedClientCertificate");
    expect(onSecret[0]?.message).toContain("ServiceAccount tenant/default may not get elasticsearches/quickstart in namespace prod");
    // Nothing on the cluster names the other namespace's Secret.
    expect(h.events.byKind.filter((e) => e.kind === "Elasticsearch").some((e) => e.message.includes("tenant/client"))).toBe(false);

    // Granted (RBAC in prod for tenant's ServiceAccount): it counts. A fresh reconciler stands for
    // "after the refusal's short cache" (the authorizer's own test covers the timing).
    const fresh = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    fresh.caches.kibana.put(tenantKb);
    fresh.caches.clientCertSecrets.put(labelled("tenant", "client", tenantKb, leaf.certPem));
    grant(fresh, "tenant");
    await fresh.reconcile();
    expect(bundleOf(fresh)).toContain(body(leaf.certPem));
  });

  test("no CA certificate from a user source, in any position, even in the cluster's own namespace", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const ownKb = kibana(NS, "kb");
    h.caches.kibana.put(ownKb);
    const rogue = await TestCA.create("rogue root");
    h.caches.clientCertSecrets.put(labelled(NS, "root-first", ownKb, rogue.pem));
    await h.reconcile();
    expect(bundleOf(h)).not.toContain(body(rogue.pem));
    const rejected = h.events.byKind.find((e) => e.kind === "Secret" && e.reason === "ClientCertificateRejected");
    expect(rejected?.message).toContain("is a CA certificate (CA:TRUE)");
  });

  test("a Kibana of another namespace: not authorized → left out (no identity, no intent, an Event and the References condition), and it never holds up the cluster; authorized → a subject that names its namespace", async () => {
    const es0 = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [es0] });
    const outsider = kibana("tenant", "kb");
    h.caches.kibana.put(outsider);
    const pod = kibanaPod(outsider, "kb-pod");
    h.caches.pods.put(pod as never);
    await h.reconcile();
    expect(h.intents.get("tenant", "kb-pod")).toBeUndefined();
    expect(h.status()?.conditions?.find((c) => c.type === "References")).toMatchObject({ status: "False", reason: "NotAuthorized" });
    expect(h.events.byKind.some((e) => e.kind === "Kibana" && e.reason === "ReferenceNotAuthorized")).toBe(true);
    // Its unproven pod does not freeze the transition: the ES pod's proof is enough.
    h.prove(es0, "refused");
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");

    const allowed = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    allowed.caches.kibana.put(outsider);
    allowed.caches.pods.put(pod as never);
    grant(allowed, "tenant");
    await allowed.reconcile();
    const intent = allowed.intents.get("tenant", "kb-pod");
    expect(intent?.identity).toMatchObject({ source: "managed", subject: { commonName: "kb", organizationalUnit: "tenant/kb" } });
  });

  test("a pod that leaves the cluster's view loses the intent the cluster published: a Kibana re-pointed elsewhere, the others keep theirs (issue 18)", async () => {
    const es0 = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [es0] });
    const tenantKb = kibana("tenant", "kb");
    h.caches.kibana.put(tenantKb);
    h.caches.pods.put(kibanaPod(tenantKb, "kb-pod") as never);
    grant(h, "tenant");
    await h.reconcile();
    expect(h.intents.get("tenant", "kb-pod")?.cluster).toEqual({ namespace: NS, name: ES_NAME });
    // Re-pointed at a cluster of its own namespace: no longer in prod's view.
    h.caches.kibana.put(kibana("tenant", "kb", { name: "own" }));
    await h.reconcile();
    expect(h.intents.get("tenant", "kb-pod")).toBeUndefined();
    expect(h.intents.get(NS, "quickstart-es-default-0")?.cluster).toEqual({ namespace: NS, name: ES_NAME });
  });

  test("crowding: another namespace's Secrets take at most their budget; the cluster's own namespace comes first", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    const noisyKb = kibana("aaa-tenant", "kb", {});
    const ownKb = kibana(NS, "kb");
    h.caches.kibana.put(noisyKb);
    h.caches.kibana.put(ownKb);
    grant(h, "aaa-tenant");
    let noisyBytes = 0;
    for (let i = 0; i < 150; i++) {
      const leaf = await selfSignedClient({ cn: `noisy-${i}` });
      noisyBytes += leaf.certPem.length;
      h.caches.clientCertSecrets.put(labelled("aaa-tenant", `s-${String(i).padStart(3, "0")}`, noisyKb, leaf.certPem));
    }
    expect(noisyBytes).toBeGreaterThan(FOREIGN_NAMESPACE_BUDGET_BYTES);
    const mine = await selfSignedClient({ cn: "prod-client" });
    h.caches.clientCertSecrets.put(labelled(NS, "zzz-own-client", ownKb, mine.certPem));
    await h.reconcile();
    const bundle = bundleOf(h);
    expect(bundle).toContain(body(mine.certPem));
    const fromTenant = (bundle.match(/BEGIN CERTIFICATE/g) ?? []).length - 3; // minus the CA, the controller's own and prod's client
    expect(fromTenant).toBeGreaterThan(0);
    expect(fromTenant).toBeLessThan(150);
  }, 60_000);

  test("the authorizer: same namespace needs no review; answers are cached (grants longer than refusals), `fresh` asks anyway; off = ECK's permissive default", async () => {
    let calls = 0;
    let clock = 0;
    let allow = false;
    const a = referenceAuthorizer({ enforce: true, check: async () => (calls++, allow), now: () => clock });
    expect(await a.authorize({ namespace: "prod", serviceAccount: "x" }, { namespace: "prod", name: "q" })).toEqual({ allowed: true });
    expect(calls).toBe(0);
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).allowed).toBe(false);
    allow = true;
    clock += 1000;
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).allowed).toBe(false); // cached refusal
    clock += 5000;
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).allowed).toBe(true);
    expect(calls).toBe(2);
    // Signing asks afresh (issue 18): a cached grant does not outlive a revoked RoleBinding there.
    allow = false;
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).allowed).toBe(true); // cached grant
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" }, { fresh: true })).allowed).toBe(false);
    expect(calls).toBe(3);
    expect((await a.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).allowed).toBe(false); // the fresh answer is cached
    expect(await a.authorize({ namespace: "prod", serviceAccount: "x" }, { namespace: "prod", name: "q" }, { fresh: true })).toEqual({ allowed: true });
    expect(calls).toBe(3);
    const off = referenceAuthorizer({ enforce: false, check: async () => false });
    expect(await off.authorize({ namespace: "b", serviceAccount: "default" }, { namespace: "prod", name: "q" })).toEqual({ allowed: true });
  });
});
