// What every controller test needs in a fresh control plane: the workload
// namespaces, the controller's and ECK's namespaces, and ECK's license ConfigMap.
import type * as k8s from "@kubernetes/client-node";

export async function prepareCluster(core: k8s.CoreV1Api, namespaces: string[], licenseLevel = "enterprise"): Promise<void> {
  for (const name of [...namespaces, "es-mtls-system", "elastic-system"]) await core.createNamespace({ body: { metadata: { name } } });
  await core.createNamespacedConfigMap({ namespace: "elastic-system", body: { metadata: { name: "elastic-licensing" }, data: { eck_license_level: licenseLevel } } });
}
