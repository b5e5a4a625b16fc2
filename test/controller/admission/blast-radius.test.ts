// Units of the small blast radius (issue 8 item 4): a standby replica, whose reconciler never ran,
// judges a cross-namespace Kibana pod as the leader would; and the reconcile step that keeps the
// active-namespace label decides from the caches and writes only what differs.
import { describe, expect, test } from "bun:test";
import type * as k8s from "@kubernetes/client-node";
import { clusterModeOf, type ClusterModeSources } from "../../../controller/admission/cluster-mode.ts";
import { referenceAuthorizer } from "../../../controller/kube/reference-authorizer.ts";
import type { ObjectCache } from "../../../controller/kube/informers.ts";
import type { ClientAuthentication, Elasticsearch, Kibana } from "../../../controller/resources.ts";
import { syncNamespaceLabels, wantedNamespaces } from "../../../controller/reconcile/namespace-label.ts";
import type { ReconcilerDeps } from "../../../controller/reconcile/deps.ts";
import { ACTIVE_NAMESPACE_LABEL } from "../../../controller/names.ts";
import type { Phase } from "../../../protocol/intent.ts";
import { kibanaPod } from "../../support/eck-pods.ts";

function cache<T extends k8s.KubernetesObject>(items: T[]): ObjectCache<T> {
  return {
    list: (ns) => items.filter((i) => ns === undefined || i.metadata?.namespace === ns),
    get: (name, ns) => items.find((i) => i.metadata?.name === name && i.metadata?.namespace === ns),
  };
}
const es = (namespace: string, name: string) => ({ apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { namespace, name }, spec: {} }) as Elasticsearch;
const kb = (namespace: string, name: string, ref: { name: string; namespace?: string }) => ({ kind: "Kibana", metadata: { namespace, name }, spec: { elasticsearchRef: ref } }) as Kibana;
const status = (namespace: string, name: string, phase: string) => ({ kind: "ClientAuthentication", metadata: { namespace, name }, status: { phase } }) as unknown as ClientAuthentication;

describe("a standby judges a cross-namespace Kibana pod itself", () => {
  const sources = (check: () => Promise<boolean>): ClusterModeSources => ({
    elasticsearch: cache([es("prod", "quickstart")]),
    kibana: cache([kb("apps", "kb", { name: "quickstart", namespace: "prod" })]),
    clientAuthentication: () => status("prod", "quickstart", "Enabled"),
    // Fresh, as on a replica that never reconciled: nothing cached.
    references: referenceAuthorizer({ enforce: true, check }),
  });

  test("allowed by RBAC: injected, asking the apiserver once, then from the cache", async () => {
    let asked = 0;
    const s = sources(async () => (asked++, true));
    expect(await clusterModeOf(kibanaPod("apps", "kb", "kb-1"), s)).toMatchObject({ role: "kibana", cluster: { namespace: "prod", name: "quickstart" } });
    expect(await clusterModeOf(kibanaPod("apps", "kb", "kb-2"), s)).toMatchObject({ role: "kibana" });
    expect(asked).toBe(1);
  });

  test("refused by RBAC: left alone; the check failing: the webhook's failurePolicy decides (it throws)", async () => {
    expect(await clusterModeOf(kibanaPod("apps", "kb", "kb-1"), sources(async () => false))).toBeUndefined();
    await expect(clusterModeOf(kibanaPod("apps", "kb", "kb-1"), sources(async () => Promise.reject(new Error("apiserver unreachable"))))).rejects.toThrow("apiserver unreachable");
  });
});

describe("reconcile step: the active-namespace label", () => {
  function deps(labelled: string[]) {
    const written = new Map<string, k8s.V1Namespace>();
    const patches: string[] = [];
    const d = {
      caches: {
        elasticsearch: cache([es("a", "on"), es("c", "off"), es("d", "new")]),
        kibana: cache([kb("b", "kb", { name: "on", namespace: "a" }), kb("c", "kb", { name: "off" })]),
        clientAuth: cache([status("a", "on", "Disabling"), status("c", "off", "Disabled")]),
        activeNamespaces: cache(labelled.map((name) => ({ metadata: { name, labels: { [ACTIVE_NAMESPACE_LABEL]: "true" } } }))),
      },
      writer: {
        fresh: (kind: string, _ns: string | undefined, name: string, cached: unknown) => (kind === "Namespace" && written.has(name) ? written.get(name) : cached),
        mergePatch: async (obj: k8s.V1Namespace) => {
          patches.push(`${obj.metadata!.name}=${obj.metadata!.labels![ACTIVE_NAMESPACE_LABEL]}`);
          const labels: Record<string, string> = obj.metadata!.labels![ACTIVE_NAMESPACE_LABEL] ? { [ACTIVE_NAMESPACE_LABEL]: "true" } : {};
          written.set(obj.metadata!.name!, { metadata: { name: obj.metadata!.name, labels } });
          return obj;
        },
      },
    } as unknown as Pick<ReconcilerDeps, "caches" | "writer">;
    return { d, patches };
  }

  test("wanted: a namespace with an active cluster, one whose Kibana references an active cluster, the reconciled cluster by its decided phase", () => {
    const { d } = deps([]);
    const wanted = (decided: Array<[string, Phase | undefined]>) => [...wantedNamespaces(d, new Map(decided))].sort();
    expect(wanted([["d/new", "Enabling"]])).toEqual(["a", "b", "d"]);
    expect(wanted([["a/on", "Disabled"]])).toEqual([]);
    expect(wanted([["a/on", undefined]])).toEqual([]); // the cluster is gone
  });

  test("adds and removes only what differs, then writes nothing", async () => {
    const { d, patches } = deps(["a", "c"]);
    expect(await syncNamespaceLabels("d/new", "Enabling", d)).toEqual(["+b", "+d", "-c"]);
    expect(patches).toEqual(["b=true", "d=true", "c=null"]);
    expect(await syncNamespaceLabels("d/new", "Enabling", d)).toEqual([]);
    expect(patches).toHaveLength(3);
  });

  test("concurrent reconciles: one never removes the label another just decided on", async () => {
    const { d, patches } = deps(["a", "c"]);
    // c/off (persisted Disabled) decides Enabling while d/new's call is pending: c keeps its label throughout.
    const first = syncNamespaceLabels("d/new", "Enabling", d);
    const second = syncNamespaceLabels("c/off", "Enabling", d);
    expect([await first, await second]).toEqual([["+b", "+d"], []]);
    expect(patches).toEqual(["b=true", "d=true"]);
    // Its next decision counts from then on, ahead of its persisted status.
    expect(await syncNamespaceLabels("c/off", "Disabled", d)).toEqual(["-c"]);
  });

  test("without a namespace cache (reconciler fakes) the step does nothing", async () => {
    const { d } = deps([]);
    const without = { ...d, caches: { ...d.caches, activeNamespaces: undefined } };
    expect(await syncNamespaceLabels("d/new", "Enabling", without)).toEqual([]);
  });
});
