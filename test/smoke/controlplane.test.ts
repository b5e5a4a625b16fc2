// Smoke tests of the test control plane: each asserts real API behaviour that
// the rest of the suite relies on.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../controlplane/crds.ts";
import { eventually } from "../support/eventually.ts";

let cp: ControlPlane;
let kc: k8s.KubeConfig;
let core: k8s.CoreV1Api;
let custom: k8s.CustomObjectsApi;
const ns = "smoke";

const ES = { group: "elasticsearch.k8s.elastic.co", version: "v1", plural: "elasticsearches" };

beforeAll(async () => {
  const started = Date.now();
  cp = await ControlPlane.start({ crds: PROJECT_CRDS, log: (l) => console.error(l) });
  console.error(`control plane ready in ${Date.now() - started} ms`);
  kc = cp.kubeConfig();
  core = kc.makeApiClient(k8s.CoreV1Api);
  custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await core.createNamespace({ body: { metadata: { name: ns } } });
}, 900_000);

afterAll(async () => {
  await cp?.stop();
});

describe("control plane", () => {
  test("apiserver reports the pinned version, and both kubeconfigs authenticate as admin", async () => {
    const v = JSON.parse((await cp.get("/version")).body);
    expect(v.gitVersion).toBe("v1.36.3");
    for (const auth of ["cert", "token"] as const) {
      const api = cp.kubeConfig(auth).makeApiClient(k8s.AuthenticationV1Api);
      const review = await api.createSelfSubjectReview({ body: { apiVersion: "authentication.k8s.io/v1", kind: "SelfSubjectReview" } });
      expect(review.status?.userInfo?.groups).toContain("system:masters");
    }
    // Without credentials RBAC refuses: the apiserver really authorizes.
    const anon = await cp.get("/api/v1/namespaces", "none");
    expect(anon.status).toBe(403);
  });

  test("CRD install and a typed round trip of an Elasticsearch object (unknown fields preserved)", async () => {
    const body = {
      apiVersion: "elasticsearch.k8s.elastic.co/v1",
      kind: "Elasticsearch",
      metadata: { name: "quickstart", namespace: ns },
      spec: {
        version: "9.4.0",
        http: { tls: { client: { authentication: true }, selfSignedCertificate: { disabled: false } } },
        nodeSets: [{ name: "default", count: 3, config: { "node.store.allow_mmap": false }, podTemplate: { spec: { containers: [] } } }],
        monitoring: { metrics: { elasticsearchRefs: [] } },
      },
    };
    await custom.createNamespacedCustomObject({ ...ES, namespace: ns, body });
    const got: any = await custom.getNamespacedCustomObject({ ...ES, namespace: ns, name: "quickstart" });
    expect(got.spec).toEqual(body.spec);
    // The schema is structural: a wrong type is refused, not stored.
    let refused: any;
    try {
      await custom.createNamespacedCustomObject({
        ...ES,
        namespace: ns,
        body: { ...body, metadata: { name: "bad", namespace: ns }, spec: { http: { tls: { client: { authentication: "yes" } } } } },
      });
    } catch (e) {
      refused = e;
    }
    expect(refused?.code).toBe(422);
    expect(String(refused?.body)).toContain("spec.http.tls.client.authentication");
  });

  test("a watch sees create, update and delete in order", async () => {
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { labelSelector: "smoke=watch" },
      (type, obj: k8s.V1ConfigMap) => seen.push(`${type}:${obj.data?.v ?? ""}`),
      () => {},
    );
    try {
      await Bun.sleep(300); // the watch is established before the first write
      const name = "watched";
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name, labels: { smoke: "watch" } }, data: { v: "1" } } });
      await core.replaceNamespacedConfigMap({ name, namespace: ns, body: { metadata: { name, labels: { smoke: "watch" } }, data: { v: "2" } } });
      await core.deleteNamespacedConfigMap({ name, namespace: ns });
      await eventually(() => expect(seen).toEqual(["ADDED:1", "MODIFIED:2", "DELETED:2"]), { what: "watch events" });
    } finally {
      req.abort();
    }
  });

  test("server-side apply records field managers and refuses a conflicting manager", async () => {
    const objects = k8s.KubernetesObjectApi.makeApiClient(kc);
    const cm = (v: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "applied", namespace: ns }, data: { owned: v } });
    await objects.patch(cm("a"), undefined, undefined, "manager-a", undefined, k8s.PatchStrategy.ServerSideApply);
    let conflict: any;
    try {
      await objects.patch(cm("b"), undefined, undefined, "manager-b", false, k8s.PatchStrategy.ServerSideApply);
    } catch (e) {
      conflict = e;
    }
    expect(conflict?.code).toBe(409);
    expect(String(conflict?.body)).toContain("manager-a");
    // Re-applying the same content with the same manager is accepted and changes nothing.
    const before = await core.readNamespacedConfigMap({ name: "applied", namespace: ns });
    await objects.patch(cm("a"), undefined, undefined, "manager-a", undefined, k8s.PatchStrategy.ServerSideApply);
    const after = await core.readNamespacedConfigMap({ name: "applied", namespace: ns });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(after.metadata?.managedFields?.map((f) => f.manager)).toContain("manager-a");
  });

  test("kube-controller-manager turns a StatefulSet into Pods", async () => {
    // Pods need the namespace's default ServiceAccount, which the serviceaccount controller makes.
    await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { what: "default SA", timeoutMs: 30_000 });
    const apps = kc.makeApiClient(k8s.AppsV1Api);
    await apps.createNamespacedStatefulSet({
      namespace: ns,
      body: {
        metadata: { name: "es-default" },
        spec: {
          replicas: 2,
          podManagementPolicy: "Parallel",
          serviceName: "es",
          selector: { matchLabels: { app: "es" } },
          template: { metadata: { labels: { app: "es" } }, spec: { containers: [{ name: "es", image: "stand-in" }] } },
        },
      },
    });
    const pods = await eventually(
      async () => {
        const list = await core.listNamespacedPod({ namespace: ns, labelSelector: "app=es" });
        expect(list.items.map((p) => p.metadata?.name).sort()).toEqual(["es-default-0", "es-default-1"]);
        return list.items;
      },
      { what: "statefulset pods", timeoutMs: 30_000 },
    );
    expect(pods[0]!.metadata?.ownerReferences?.[0]?.kind).toBe("StatefulSet");
    expect(pods[0]!.metadata?.labels?.["controller-revision-hash"]).toBeTruthy();
  });

  test("deleting an owner garbage-collects its dependent", async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "owner" } } });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: {
          name: "dependent",
          ownerReferences: [{ apiVersion: "v1", kind: "ConfigMap", name: "owner", uid: owner.metadata!.uid! }],
        },
        stringData: { k: "v" },
      },
    });
    await core.deleteNamespacedConfigMap({ name: "owner", namespace: ns });
    await eventually(
      async () => {
        const list = await core.listNamespacedSecret({ namespace: ns, fieldSelector: "metadata.name=dependent" });
        expect(list.items).toHaveLength(0);
      },
      { what: "garbage collection", timeoutMs: 30_000 },
    );
  });

  test("a pod-bound TokenRequest with a custom audience verifies with jose against the apiserver JWKS", async () => {
    await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { what: "default SA", timeoutMs: 30_000 });
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: "agent" } } });
    const pod = await core.createNamespacedPod({
      namespace: ns,
      body: { metadata: { name: "token-pod" }, spec: { serviceAccountName: "agent", containers: [{ name: "c", image: "x" }] } },
    });
    const audience = "es-mtls.test/intent-api";
    const tr = await core.createNamespacedServiceAccountToken({
      name: "agent",
      namespace: ns,
      body: {
        spec: {
          audiences: [audience],
          expirationSeconds: 600,
          boundObjectRef: { apiVersion: "v1", kind: "Pod", name: "token-pod", uid: pod.metadata!.uid! },
        },
      },
    });
    const token = tr.status!.token;
    const jwks = JSON.parse((await cp.get("/openid/v1/jwks")).body);
    expect(jwks.keys.map((k: any) => k.kid)).toContain(decodeProtectedHeader(token).kid);
    const { payload } = await jwtVerify(token, createLocalJWKSet(jwks), { audience, issuer: cp.issuer });
    const claims = payload["kubernetes.io"] as any;
    expect(claims.namespace).toBe(ns);
    expect(claims.pod).toEqual({ name: "token-pod", uid: pod.metadata!.uid });
    expect(claims.serviceaccount.name).toBe("agent");
    // The same token fails for another audience.
    await expect(jwtVerify(token, createLocalJWKSet(jwks), { audience: "other", issuer: cp.issuer })).rejects.toThrow();
  });
});
