// On-demand reads of Secrets the caches do not hold (a Kibana's clientCertificateSecretName: the
// controller does not watch every Secret in the cluster). The reconciler takes this as a function,
// so a unit test replaces it.
import type * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./api-error.ts";

/** Undefined when the Secret does not exist; throws on any other failure. */
export type SecretReader = (namespace: string, name: string) => Promise<k8s.V1Secret | undefined>;

export function secretReader(core: k8s.CoreV1Api): SecretReader {
  return async (namespace, name) => {
    try {
      return await core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}
