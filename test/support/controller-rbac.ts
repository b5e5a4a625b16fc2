// Installs the controller's identity from deploy/ (namespace, ServiceAccount, RBAC) into a test
// control plane and returns a kubeconfig that authenticates as that ServiceAccount with a bearer
// token from the TokenRequest API, so tests run the controller under its own RBAC, not as admin.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import type { ControlPlane } from "../controlplane/controlplane.ts";
import { ControllerProcess } from "./controller-process.ts";
import { eventually } from "./eventually.ts";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");

export const CONTROLLER_SERVICE_ACCOUNT = { namespace: "es-mtls-system", name: "es-mtls-controller" } as const;
/** ECK's operator namespace, where deploy/eck/ (only) grants access to the elastic-licensing ConfigMap. */
export const ECK_NAMESPACE = "elastic-system";
/** The manifest only an install next to ECK applies (kubectl apply -k deploy/eck/). */
export const ECK_RBAC = "eck/eck-licensing-rbac.yaml";

export interface ControllerIdentity {
  kubeConfig: k8s.KubeConfig;
  token: string;
  /** system:serviceaccount:es-mtls-system:es-mtls-controller */
  username: string;
}

/** Objects of a deploy/ manifest, typed by client-node (keeps keys its serializer knows). */
export function loadManifest(file: string): k8s.KubernetesObject[] {
  return k8s.loadAllYaml(readFileSync(join(DEPLOY, file), "utf8")).filter((o): o is k8s.KubernetesObject => !!o && typeof o === "object");
}

/** Creates a namespace unless it exists. */
export async function ensureNamespace(kc: k8s.KubeConfig, name: string): Promise<void> {
  try {
    await kc.makeApiClient(k8s.CoreV1Api).createNamespace({ body: { metadata: { name } } });
  } catch (e) {
    if ((e as { code?: number }).code !== 409) throw e;
  }
}

/** Server-side applies every object of deploy/`file` as admin. */
export async function applyManifest(cp: ControlPlane, file: string): Promise<void> {
  const objects = k8s.KubernetesObjectApi.makeApiClient(cp.kubeConfig());
  for (const object of loadManifest(file)) await objects.patch(object, undefined, undefined, "es-mtls-test", true, k8s.PatchStrategy.ServerSideApply);
}

/**
 * Applies deploy/namespace.yaml, serviceaccount.yaml, rbac.yaml and, unless `admissionPolicy: false`,
 * admission-policy.yaml (server-side apply as admin), with `eck: true` also deploy/eck/'s Role in
 * ECK's namespace (created then), and mints a token for the controller's ServiceAccount: the
 * controller runs under what deploy/ gives it. The default creates nothing in ECK's namespace.
 */
export async function installControllerRbac(cp: ControlPlane, options: { expirationSeconds?: number; admissionPolicy?: boolean; eck?: boolean } = {}): Promise<ControllerIdentity> {
  const admin = cp.kubeConfig();
  if (options.eck) await ensureNamespace(admin, ECK_NAMESPACE);
  const files = ["namespace.yaml", "serviceaccount.yaml", "rbac.yaml", ...(options.admissionPolicy === false ? [] : ["admission-policy.yaml"]), ...(options.eck ? [ECK_RBAC] : [])];
  for (const file of files) await applyManifest(cp, file);
  const core = admin.makeApiClient(k8s.CoreV1Api);
  const request = await core.createNamespacedServiceAccountToken({
    ...CONTROLLER_SERVICE_ACCOUNT,
    body: { spec: { audiences: [], expirationSeconds: options.expirationSeconds ?? 3600 } },
  });
  const token = request.status!.token;
  const kubeConfig = new k8s.KubeConfig();
  kubeConfig.loadFromOptions({
    clusters: [{ name: "test", server: cp.server, caData: Buffer.from(cp.caPem).toString("base64"), skipTLSVerify: false }],
    users: [{ name: "es-mtls-controller", token }],
    contexts: [{ name: "es-mtls-controller", cluster: "test", user: "es-mtls-controller" }],
    currentContext: "es-mtls-controller",
  });
  const identity = { kubeConfig, token, username: `system:serviceaccount:${CONTROLLER_SERVICE_ACCOUNT.namespace}:${CONTROLLER_SERVICE_ACCOUNT.name}` };
  if (options.admissionPolicy !== false) await untilAdmissionPolicyEnforced(identity);
  return identity;
}

/**
 * Waits until the apiserver enforces deploy/admission-policy.yaml for `identity` (it compiles a new
 * policy and sees its binding within a second or so): a dry-run patch of another label on the
 * controller's namespace, which RBAC admits, is refused by the policy.
 */
export async function untilAdmissionPolicyEnforced(identity: ControllerIdentity): Promise<void> {
  const core = identity.kubeConfig.makeApiClient(k8s.CoreV1Api);
  await eventually(
    async () => {
      try {
        await core.patchNamespace(
          { name: CONTROLLER_SERVICE_ACCOUNT.namespace, dryRun: "All", body: { metadata: { labels: { "es-mtls-test/probe": "x" } } } },
          k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch),
        );
      } catch (e) {
        if ((e as { code?: number }).code === 403 && String((e as { body?: unknown }).body).includes("ValidatingAdmissionPolicy 'es-mtls-controller-writes'")) return;
        throw e;
      }
      throw new Error("admitted");
    },
    { timeoutMs: 20_000, what: "deploy/admission-policy.yaml enforced" },
  );
}

/** Installs the controller's identity and RBAC from deploy/ and starts the real controller under it (not as admin). */
export async function startControllerUnderOwnRbac(cp: ControlPlane, o: { name?: string; extraArgs?: string[] } = {}): Promise<{ controller: ControllerProcess; identity: ControllerIdentity }> {
  const identity = await installControllerRbac(cp);
  const kubeconfig = join(cp.dir, "controller-sa.kubeconfig");
  writeFileSync(kubeconfig, identity.kubeConfig.exportConfig(), { mode: 0o600 });
  const controller = await ControllerProcess.start({ kubeconfig, name: o.name ?? "controller-sa", namespace: CONTROLLER_SERVICE_ACCOUNT.namespace, extraArgs: o.extraArgs ?? ["--resync=2s"] });
  await controller.waitReady();
  return { controller, identity };
}
