// One stable order for Secrets: namespace/name in code-unit order. localeCompare is not
// used because the bundle bytes must not depend on the process locale.
import type { V1Secret } from "@kubernetes/client-node";

export function secretKey(secret: V1Secret): string {
  return `${secret.metadata?.namespace ?? ""}/${secret.metadata?.name ?? ""}`;
}

export function sortSecrets(secrets: readonly V1Secret[]): V1Secret[] {
  return secrets
    .map((secret) => ({ key: secretKey(secret), secret }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map(({ secret }) => secret);
}
