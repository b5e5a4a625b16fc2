// What every controller test needs in a fresh control plane: the workload namespaces and the
// controller's. Nothing of ECK: without its namespace no licence rule applies (issue 19 item 4).
// Tests of ECK's licence rule add ECK's namespace and licence ConfigMap with setEckLicense.
import type * as k8s from "@kubernetes/client-node";

export async function prepareCluster(core: k8s.CoreV1Api, namespaces: string[]): Promise<void> {
  for (const name of [...namespaces, "es-mtls-system"]) await core.createNamespace({ body: { metadata: { name } } });
}

/** ECK installed with this licence level: its namespace and `elastic-licensing` ConfigMap, created or replaced. */
export async function setEckLicense(core: k8s.CoreV1Api, level: string): Promise<void> {
  await core.createNamespace({ body: { metadata: { name: "elastic-system" } } }).catch((e: { code?: number }) => {
    if (e.code !== 409) throw e;
  });
  const body = { metadata: { name: "elastic-licensing", namespace: "elastic-system" }, data: { eck_license_level: level } };
  try {
    await core.replaceNamespacedConfigMap({ name: "elastic-licensing", namespace: "elastic-system", body });
  } catch (e) {
    if ((e as { code?: number }).code !== 404) throw e;
    await core.createNamespacedConfigMap({ namespace: "elastic-system", body });
  }
}
