// Step: a cluster ECK ≥ 3.4 manages, or one under ECK's CRD that ECK has not reconciled yet. ECK
// implements the feature itself, at the same names and paths, so es-mtls stands aside completely:
// no Secret, no annotation, no injection, no intents, no evictions. It only says so, in its own
// status object and in one Event, when the feature is in use on that cluster (the spec asks for
// it, or ECK's annotation is set).
import { CLIENT_AUTH_REQUIRED_ANNOTATION } from "../names.ts";
import { cond } from "../status/conditions.ts";
import { inactiveStatus } from "../status/build.ts";
import { writeStatus } from "../status/write.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

/** `waiting`: ECK has not reconciled the cluster yet (policy/manager.ts "eck-pending"), and why es-mtls waits. */
export async function standAsideForEck(c: ClusterView, d: Pick<ReconcilerDeps, "events" | "writer" | "intents" | "resyncMs">, waiting?: string): Promise<{ requeueAfterMs: number }> {
  for (const p of c.pods) d.intents.remove(p.pod.metadata!.namespace!, p.pod.metadata!.name!);
  d.intents.withdrawExcept({ namespace: c.namespace, name: c.name }, []); // and those of pods that left it
  const asked = c.es.spec?.http?.tls?.client?.authentication === true;
  const annotated = c.es.metadata.annotations?.[CLIENT_AUTH_REQUIRED_ANNOTATION] === "true";
  if (!asked && !annotated && !c.clientAuth) return { requeueAfterMs: d.resyncMs };
  if (waiting) {
    await d.events.record(esTarget(c.es), "Normal", "WaitingForECK", waiting);
    await writeStatus(d.writer, c.es, c.clientAuth, inactiveStatus(c.prevStatus, { phase: "ManagedByECK", podCount: c.esPods.length, conditions: [cond("Ready", "False", "WaitingForECK", waiting)] }));
    return { requeueAfterMs: d.resyncMs }; // ECK's status write is a watch event: it queues the next reconcile
  }
  const message = `client certificate authentication of this cluster is implemented by ECK (≥ 3.4, as its Elasticsearch CRD says); es-mtls stands aside: no Secrets, no annotation, no injection, no restarts`;
  await d.events.record(esTarget(c.es), "Normal", "ManagedByECK", message);
  // ECK 3.5 sets its annotation within seconds; a CRD of ≥ 3.4 with an older operator never does (policy/manager.ts).
  const said = asked && !annotated ? `${message}. ECK has not set ${CLIENT_AUTH_REQUIRED_ANNOTATION} (yet): if it stays absent, the ECK operator is older than its CRD (< 3.4) and nobody implements the feature` : message;
  await writeStatus(d.writer, c.es, c.clientAuth, inactiveStatus(c.prevStatus, { phase: "ManagedByECK", podCount: c.esPods.length, conditions: [cond("Ready", "False", "ManagedByECK", said)] }));
  return { requeueAfterMs: d.resyncMs };
}
