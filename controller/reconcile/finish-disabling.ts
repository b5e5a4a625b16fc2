// Step: every ES pod proved it accepts clients without a certificate: annotation first (an orphaned
// one misleads), then the secrets, the CA, the intents (retired) and what is kept in memory.
import { type Condition } from "../resources.ts";
import { internalClientCertSecretName } from "../names.ts";
import { trustBundleSecretName } from "../names.ts";
import { isOwnSecret } from "../policy/ownership.ts";
import { inactiveStatus } from "../status/build.ts";
import { writeStatus } from "../status/write.ts";
import { deleteClusterCas } from "./ca-secret.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterMemory } from "./memory.ts";
import { removeAnnotation } from "./required-annotation.ts";
import { retire } from "./retire.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function finishDisabling(
  c: ClusterView,
  conditions: Condition[],
  generation: number,
  hash: string,
  memory: ClusterMemory,
  d: Pick<ReconcilerDeps, "caches" | "writer" | "pki" | "intents" | "events" | "resyncMs">,
): Promise<{ requeueAfterMs: number }> {
  await removeAnnotation(c, d);
  for (const name of [internalClientCertSecretName(c.name), trustBundleSecretName(c.name)]) {
    // Only what es-mtls created (its label and an ownerReference to this Elasticsearch) is deleted.
    const secret = c.managedSecret(name);
    if (secret && isOwnSecret(secret, c.es)) await d.writer.deleteSecret(c.namespace, name, secret.metadata?.uid);
  }
  await deleteClusterCas(c.namespace, c.name, d);
  await retire(c, "Disabled", generation, d);
  memory.forget(c.key);
  await d.events.record(esTarget(c.es), "Normal", "ClientAuthenticationDisabled", "every Elasticsearch pod accepts clients without a certificate; client certificate resources removed");
  await writeStatus(d.writer, c.es, c.clientAuth, inactiveStatus(c.prevStatus, { phase: "Disabled", podCount: c.pods.length, conditions, intent: { generation, hash } }));
  return { requeueAfterMs: d.resyncMs };
}
