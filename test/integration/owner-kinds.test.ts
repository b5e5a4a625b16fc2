// Issue 13 item 3: with ECK 3.5's real CRDs installed, a labelled client-certificate Secret
// owned by any `*.k8s.elastic.co` kind (Agent, Beat, Logstash, ApmServer, EnterpriseSearch,
// ElasticMapsServer, as well as Elasticsearch and Kibana) is trusted when its owner exists in
// the Secret's namespace with the same UID, and every refusal names its real reason.
// The CRDs are read from ECK's Go module at test time (test/eck/module.ts), never copied into the project.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eckCrdsFile } from "../eck/module.ts";
import { verifyClientCertificateSecrets, type OwnerCandidate, type OwnerQuery } from "../../controller/trust/sources.ts";
import { kubeOwnerLookup } from "../../controller/kube/owner-lookup.ts";
import { clientCertLabels, createClientCertSecret } from "../support/client-cert-secret.ts";
import { ControllerProcess } from "../support/controller-process.ts";
import { prepareCluster } from "../support/cluster-setup.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";

const ECK_CRDS = eckCrdsFile("the ECK owner-kind tests");
const present = ECK_CRDS !== undefined;

const ns = "observability";
const cluster = { namespace: ns, name: "quickstart" };
/** Every namespaced ECK kind that may own a client certificate (ECK 3.5). */
const KINDS = [
  { apiVersion: "agent.k8s.elastic.co/v1alpha1", kind: "Agent", spec: { version: "9.4.0", mode: "standalone", deployment: {} } },
  { apiVersion: "beat.k8s.elastic.co/v1beta1", kind: "Beat", spec: { version: "9.4.0", type: "filebeat", deployment: {} } },
  { apiVersion: "logstash.k8s.elastic.co/v1alpha1", kind: "Logstash", spec: { version: "9.4.0", count: 1 } },
  { apiVersion: "apm.k8s.elastic.co/v1", kind: "ApmServer", spec: { version: "9.4.0", count: 1 } },
  { apiVersion: "enterprisesearch.k8s.elastic.co/v1", kind: "EnterpriseSearch", spec: { version: "8.19.0", count: 1 } },
  { apiVersion: "maps.k8s.elastic.co/v1alpha1", kind: "ElasticMapsServer", spec: { version: "9.4.0", count: 1 } },
] as const;

let cp: ControlPlane;
let objects: k8s.KubernetesObjectApi;
let core: k8s.CoreV1Api;
const uids = new Map<string, string>();

beforeAll(async () => {
  if (!present) return;
  // The project's own CRDs (ClientAuthentication) next to ECK's, for the controller test.
  cp = await ControlPlane.start({ crds: [join(import.meta.dir, "..", "..", "deploy", "crds"), ECK_CRDS!], controllerManager: false });
  objects = k8s.KubernetesObjectApi.makeApiClient(cp.kubeConfig());
  core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
  await prepareCluster(core, [ns, "elsewhere"]);
  for (const k of KINDS) {
    const created = await objects.create({ apiVersion: k.apiVersion, kind: k.kind, metadata: { name: `my-${k.kind.toLowerCase()}`, namespace: ns }, spec: k.spec } as k8s.KubernetesObject);
    uids.set(k.kind, created.metadata!.uid!);
  }
  const elsewhere = await objects.create({ apiVersion: "agent.k8s.elastic.co/v1alpha1", kind: "Agent", metadata: { name: "agent-elsewhere", namespace: "elsewhere" }, spec: KINDS[0].spec } as k8s.KubernetesObject);
  uids.set("agent-elsewhere", elsewhere.metadata!.uid!);
}, 900_000);

let controller: ControllerProcess | undefined;
afterAll(async () => {
  await controller?.stop();
  await cp?.stop();
});

function labelled(name: string, ref: k8s.V1OwnerReference, namespace = ns): k8s.V1Secret {
  return { metadata: { name, namespace, labels: clientCertLabels(cluster.name, cluster.namespace), ownerReferences: [ref] }, data: { "tls.crt": "" } };
}
const refTo = (apiVersion: string, kind: string, name: string, uid: string): k8s.V1OwnerReference => ({ apiVersion, kind, name, uid });
/** What the reconciler caches: Elasticsearch and Kibana only (none here). */
const cachedOwners: OwnerCandidate[] = [];

describe.skipIf(!present)("owners of every ECK kind (real ECK 3.5 CRDs)", () => {
  test("a Secret owned by an Agent, a Beat, a Logstash, an ApmServer, an EnterpriseSearch or an ElasticMapsServer in its namespace is trusted", async () => {
    const secrets = KINDS.map((k) => labelled(`owned-by-${k.kind.toLowerCase()}`, refTo(k.apiVersion, k.kind, `my-${k.kind.toLowerCase()}`, uids.get(k.kind)!)));
    const lookups: OwnerQuery[] = [];
    const lookup = kubeOwnerLookup(cp.kubeConfig());
    const selection = await verifyClientCertificateSecrets(secrets, cachedOwners, cluster, (q) => (lookups.push(q), lookup(q)));
    expect(selection.rejected.map((r) => `${r.where}: ${r.reason}`)).toEqual([]);
    expect(selection.selected.map((s) => s.metadata!.name).sort()).toEqual(KINDS.map((k) => `owned-by-${k.kind.toLowerCase()}`).sort());
    expect(lookups).toHaveLength(KINDS.length);
  });

  test("refusals name the real reason: wrong UID, owner absent, owner only in another namespace, kind not served, not allowed to read", async () => {
    const agent = KINDS[0];
    const secrets = [
      labelled("wrong-uid", refTo(agent.apiVersion, "Agent", "my-agent", "00000000-0000-0000-0000-000000000000")),
      labelled("owner-absent", refTo(agent.apiVersion, "Agent", "no-such-agent", "11111111-1111-1111-1111-111111111111")),
      labelled("owner-elsewhere", refTo(agent.apiVersion, "Agent", "agent-elsewhere", uids.get("agent-elsewhere")!)),
      labelled("kind-not-served", refTo("widgets.k8s.elastic.co/v1", "Widget", "w", "22222222-2222-2222-2222-222222222222")),
    ];
    const selection = await verifyClientCertificateSecrets(secrets, cachedOwners, cluster, kubeOwnerLookup(cp.kubeConfig()));
    const reason = (name: string) => selection.rejected.find((r) => r.secret.metadata!.name === name)?.reason;
    expect(selection.selected).toEqual([]);
    expect(reason("wrong-uid")).toMatch(/owner Agent my-agent \(agent.k8s.elastic.co\/v1alpha1\) has UID [0-9a-f-]{36}, the ownerReference says 00000000-/);
    expect(reason("owner-absent")).toMatch(/owner Agent no-such-agent \(agent.k8s.elastic.co\/v1alpha1\) not found in namespace observability$/);
    expect(reason("owner-elsewhere")).toMatch(/owner Agent agent-elsewhere .* not found in namespace observability$/);
    expect(reason("kind-not-served")).toMatch(/owner kind Widget \(widgets.k8s.elastic.co\/v1\) is not served by this cluster \(its CRD is not installed\)/);

    // A controller without RBAC to read Beats says so instead of "not found".
    const limited = new k8s.KubeConfig();
    limited.loadFromFile(await cp.kubeconfigFor("limited-reader", []));
    const beat = KINDS[1];
    const forbidden = await verifyClientCertificateSecrets([labelled("owned-by-beat", refTo(beat.apiVersion, "Beat", "my-beat", uids.get("Beat")!))], cachedOwners, cluster, kubeOwnerLookup(limited));
    expect(forbidden.rejected[0]?.reason).toMatch(/the controller may not get beats.beat.k8s.elastic.co in namespace observability to check owner Beat my-beat \(RBAC\)/);
  });

  test("kinds the caller caches are never looked up", async () => {
    const kibana: OwnerCandidate = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", namespace: ns, name: "kb", uid: "uid-kb" };
    let lookups = 0;
    const selection = await verifyClientCertificateSecrets(
      [labelled("kibana-wrong-uid", refTo(kibana.apiVersion, "Kibana", "kb", "uid-stale"))],
      [kibana],
      cluster,
      async () => (lookups++, { notFound: true }),
    );
    expect(lookups).toBe(0);
    expect(selection.rejected[0]?.reason).toMatch(/has UID uid-kb, the ownerReference says uid-stale/);
  });
});

// The running controller verifies owners of uncached kinds through kubeOwnerLookup. The cluster is
// under ECK's CRD with no ECK running: it tells ECK to skip it, as such a cluster must for es-mtls to
// act (policy/manager.ts).
test.skipIf(!present)("the running controller trusts a client certificate owned by an Agent, a Beat and a Logstash", async () => {
  controller = await ControllerProcess.start({ kubeconfig: await cp.kubeconfigFor("es-mtls-controller", ["system:masters"]), name: "controller-a", namespace: "es-mtls-system", extraArgs: ["--resync=2s"] });
  await controller.waitReady();
  const custom = cp.kubeConfig().makeApiClient(k8s.CustomObjectsApi);
  await custom.createNamespacedCustomObject({
    group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches", namespace: ns,
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: cluster.name, annotations: { "eck.k8s.elastic.co/managed": "false" } }, spec: { version: "9.4.0", http: { tls: { client: { authentication: true } } }, nodeSets: [{ name: "default", count: 1 }] } },
  });
  const ca = await TestCA.create("clients");
  const expected: string[] = [];
  for (const k of KINDS.slice(0, 3)) {
    const leaf = await ca.issue({ subject: `CN=${k.kind}`, client: true });
    await createClientCertSecret(core, { namespace: ns, name: `e2e-${k.kind.toLowerCase()}`, es: cluster.name, owner: { apiVersion: k.apiVersion, kind: k.kind, name: `my-${k.kind.toLowerCase()}`, uid: uids.get(k.kind)! }, certPem: leaf.cert });
    expected.push(leaf.cert.split("\n")[1]!);
  }
  await eventually(async () => {
    const bundle = atob((await core.readNamespacedSecret({ name: `${cluster.name}-es-client-trust-bundle`, namespace: ns })).data!["client-trust-bundle.crt"]!);
    for (const line of expected) expect(bundle).toContain(line);
  }, { timeoutMs: 20_000, what: "Agent-, Beat- and Logstash-owned certificates in the bundle" });
  const untrusted = (await core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.reason === "UntrustedClientCertificate");
  expect(untrusted.map((e) => e.message)).toEqual([]);
});
