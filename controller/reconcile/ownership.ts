// Step: the names es-mtls writes for a cluster must be its own (policy/ownership.ts). A name taken
// by an object it did not create is reported and held off: no write, no takeover, no delete.
import { clientCaSecretName, internalClientCertSecretName, trustBundleSecretName } from "../names.ts";
import type { Condition } from "../resources.ts";
import { caSecretRelation, foreignCaReason, foreignReason, isOwnSecret } from "../policy/ownership.ts";
import { isActive } from "../policy/phases.ts";
import { heldStatus } from "../status/build.ts";
import { cond } from "../status/conditions.ts";
import { writeStatus } from "../status/write.ts";
import type { Phase } from "../../protocol/intent.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

/**
 * Why the first of the cluster's managed Secret names is taken by an object es-mtls did not create, if one
 * is. `<es>-es-client-ca` in the workload namespace is no longer one of them (the CA lives in the
 * controller's namespace): a foreign Secret of that name is simply never used.
 */
export async function foreignSecret(c: ClusterView, d: Pick<ReconcilerDeps, "readSecret" | "caches" | "writer" | "pki">): Promise<string | undefined> {
  for (const name of [internalClientCertSecretName(c.name), trustBundleSecretName(c.name)]) {
    // The cache holds only labelled Secrets; one missing there may still exist unlabelled: look.
    const secret = c.managedSecret(name) ?? (await d.readSecret(c.namespace, name));
    if (secret && !isOwnSecret(secret, c.es)) return foreignReason(secret, c.es);
  }
  const ns = d.pki.caNamespace;
  const caName = clientCaSecretName(c.namespace, c.name);
  const ca = d.writer.fresh("Secret", ns, caName, d.caches.caSecrets.get(caName, ns)) ?? (await d.readSecret(ns, caName));
  if (ca && caSecretRelation(ca, c.es) === "foreign") return foreignCaReason(ca, c.es);
  return undefined;
}

/**
 * A name es-mtls needs is taken. A cluster not yet active is Blocked; an active one is frozen as it
 * is (agents keep their material, nothing is published or deleted). Only the status is written.
 */
export async function holdOff(c: ClusterView, conditions: Condition[], reason: string, d: Pick<ReconcilerDeps, "events" | "writer" | "resyncMs">): Promise<{ requeueAfterMs: number }> {
  await d.events.record(esTarget(c.es), "Warning", "ForeignObject", reason);
  const held: Phase = isActive(c.prevPhase) ? c.prevPhase : "Blocked";
  conditions.push(cond("Ready", "False", "ForeignObject", reason));
  await writeStatus(d.writer, c.es, c.clientAuth, heldStatus(c.prevStatus, held, c.pods.length, conditions));
  return { requeueAfterMs: d.resyncMs };
}
