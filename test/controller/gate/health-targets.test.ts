// Issue 18 finding 4, the pure decision: which pods the health gate asks (only those of the
// cluster's own StatefulSets: controlled by the Elasticsearch with ECK, or, without ECK, controlled
// by nothing and labelled for the cluster in its pod template), which Secrets it may use (an
// annotated one only if that StatefulSet's pod template uses it), and which server names it accepts.
import { describe, expect, test } from "bun:test";
import type { V1Pod, V1StatefulSet } from "@kubernetes/client-node";
import { planHealthRead, workloadNames, type HealthCluster } from "../../../controller/gate/health-targets.ts";

const LABELS = { "common.k8s.elastic.co/type": "elasticsearch", "elasticsearch.k8s.elastic.co/cluster-name": "es", app: "es-master" };
const cluster: HealthCluster = { namespace: "ns", name: "es", uid: "es-uid" };

function sts(name: string, o: { uid?: string; owner?: { kind: string; name: string; uid: string }; labels?: Record<string, string>; spec?: Partial<NonNullable<NonNullable<V1StatefulSet["spec"]>["template"]["spec"]>> } = {}): V1StatefulSet {
  return {
    metadata: { name, namespace: "ns", uid: o.uid ?? `${name}-uid`, ...(o.owner ? { ownerReferences: [{ apiVersion: "elasticsearch.k8s.elastic.co/v1", controller: true, ...o.owner }] } : {}) },
    spec: {
      serviceName: `${name}-headless`,
      selector: { matchLabels: { app: "es-master" } },
      template: { metadata: { labels: o.labels ?? LABELS }, spec: { containers: [{ name: "elasticsearch" }], ...o.spec } },
    },
  };
}
function pod(name: string, owner?: { name: string; uid: string; kind?: string }, labels = LABELS): V1Pod {
  return {
    metadata: { name, namespace: "ns", labels, ...(owner ? { ownerReferences: [{ apiVersion: "apps/v1", kind: owner.kind ?? "StatefulSet", name: owner.name, uid: owner.uid, controller: true }] } : {}) },
    status: { podIP: "10.0.0.1", conditions: [{ type: "Ready", status: "True" }] },
  };
}
const sets = (...s: V1StatefulSet[]) => new Map(s.map((x) => [x.metadata!.name!, x]));
const asked = (p: ReturnType<typeof planHealthRead>) => (p.ok ? p.targets.map((t) => t.pod.metadata!.name) : p.message);

describe("whom the health gate asks", () => {
  test("without ECK: only pods the labelled, unowned StatefulSet made (controller UID, ordinal name, selector); not a pod that only carries the labels", () => {
    const master = sts("es-master");
    const pods = [
      pod("a-planted"), // the labels, no controller
      pod("b-claims", { name: "es-master", uid: "es-master-uid" }), // claims the StatefulSet, not one of its ordinals
      pod("es-master-7", { name: "es-master", uid: "another-uid" }), // an ordinal name, the wrong UID
      pod("es-master-9", { name: "es-master", uid: "es-master-uid" }, { ...LABELS, app: "other" }), // outside the selector
      pod("es-master-0", { name: "es-master", uid: "es-master-uid" }),
      pod("es-master-1", { name: "es-master", uid: "es-master-uid" }),
    ];
    expect(workloadNames(pods)).toEqual(["es-master"]);
    const plan = planHealthRead(cluster, pods, sets(master));
    expect(asked(plan)).toEqual(["es-master-0", "es-master-1"]);
    expect(plan.ok && plan.skipped).toEqual([
      "a-planted: not controlled by a StatefulSet of the cluster",
      "b-claims: not a pod StatefulSet es-master made (name or selector)",
      "es-master-7: not controlled by a StatefulSet of the cluster",
      "es-master-9: not a pod StatefulSet es-master made (name or selector)",
    ]);
    // The server names: ECK's HTTP Service, the StatefulSet's Service (the chart's), its governing Service, the pod's DNS name.
    expect(plan.ok && plan.targets[0]!.serverNames).toEqual(["es-es-http.ns.svc", "es-master.ns.svc", "es-master-headless.ns.svc", "es-master-0.es-master-headless.ns.svc"]);
  });

  test("a StatefulSet labelled for the cluster but controlled by something else, or one whose template is labelled for another cluster, is not the workload", () => {
    const other = sts("es-master", { owner: { kind: "Elasticsearch", name: "other", uid: "other-uid" } });
    expect(asked(planHealthRead(cluster, [pod("es-master-0", { name: "es-master", uid: "es-master-uid" })], sets(other)))).toContain("StatefulSet es-master is controlled by Elasticsearch other, not by Elasticsearch es");
    const elsewhere = sts("es-master", { labels: { ...LABELS, "elasticsearch.k8s.elastic.co/cluster-name": "prod" } });
    expect(asked(planHealthRead(cluster, [pod("es-master-0", { name: "es-master", uid: "es-master-uid" })], sets(elsewhere)))).toContain("pod template is not labelled for cluster es");
  });

  test("with ECK: the StatefulSets <es>-es-<nodeSet> the Elasticsearch controls, and only ECK's HTTP Service name", () => {
    const eck = sts("es-es-default", { owner: { kind: "Elasticsearch", name: "es", uid: "es-uid" } });
    const plan = planHealthRead(cluster, [pod("es-es-default-0", { name: "es-es-default", uid: "es-es-default-uid" })], sets(eck));
    expect(asked(plan)).toEqual(["es-es-default-0"]);
    expect(plan.ok && [plan.credentialsSecret, plan.caSecret, plan.targets[0]!.serverNames]).toEqual(["es-es-elastic-user", "es-es-http-certs-public", ["es-es-http.ns.svc"]]);
  });
});

describe("which Secrets the health gate uses", () => {
  const chart = sts("es-master", {
    spec: {
      containers: [{ name: "elasticsearch", env: [{ name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: "es-master-credentials", key: "password" } } }] }],
      volumes: [{ name: "certs", secret: { secretName: "es-master-certs" } }, { name: "p", projected: { sources: [{ secret: { name: "projected-ca" } }] } }],
    },
  });
  const pods = [pod("es-master-0", { name: "es-master", uid: "es-master-uid" })];

  test("annotated Secrets the pod template mounts (secret or projected volume) or references (env secretKeyRef) are used", () => {
    for (const httpCaSecret of ["es-master-certs", "projected-ca"]) {
      const plan = planHealthRead({ ...cluster, credentialsSecret: "es-master-credentials", httpCaSecret }, pods, sets(chart));
      expect(plan.ok && [plan.credentialsSecret, plan.caSecret]).toEqual(["es-master-credentials", httpCaSecret]);
    }
  });

  test("an annotated Secret the pod template does not use is refused, naming the annotation and the StatefulSet", () => {
    const plan = planHealthRead({ ...cluster, credentialsSecret: "es-master-credentials", httpCaSecret: "planted-ca" }, pods, sets(chart));
    expect(plan).toEqual({ ok: false, refused: true, message: expect.stringContaining("Secret ns/planted-ca (annotation mtls.es-mtls.io/health-http-ca-secret) is not used by the pod template of StatefulSet es-master") });
    const creds = planHealthRead({ ...cluster, credentialsSecret: "someone-elses-credentials", httpCaSecret: "es-master-certs" }, pods, sets(chart));
    expect(creds.ok).toBe(false);
    expect(!creds.ok && creds.refused && creds.message).toContain("Secret ns/someone-elses-credentials (annotation mtls.es-mtls.io/health-credentials-secret)");
  });
});
