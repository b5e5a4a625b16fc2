// Where a cluster's client CA lives: one Secret per cluster in the controller's own namespace (a
// CA key in the workload namespace would let anyone who reads Secrets there mint any client). Its
// name must be unique per cluster and a valid Secret name (≤ 253 characters, lowercase DNS
// subdomain): readable namespace and name, cut to fit, plus a hash of the exact "namespace/name".
import { sha256Hex } from "../../common/digest.ts";

/** Labels naming the cluster a CA Secret belongs to: what deletion and the orphan sweep go by. */
export const CA_CLUSTER_NAMESPACE_LABEL = "mtls.es-mtls.io/client-ca-of-namespace";
export const CA_CLUSTER_NAME_LABEL = "mtls.es-mtls.io/client-ca-of-name";
export const CA_CLUSTER_UID_LABEL = "mtls.es-mtls.io/client-ca-of-uid";

const MAX_NAME = 253;
const HASH_CHARS = 10;

export function clientCaSecretName(namespace: string, name: string): string {
  const hash = sha256Hex(`${namespace}/${name}`).slice(0, HASH_CHARS);
  const readable = `client-ca-${namespace}-${name}`.toLowerCase().slice(0, MAX_NAME - HASH_CHARS - 1).replace(/[^a-z0-9]+$/, "");
  return `${readable}-${hash}`;
}
