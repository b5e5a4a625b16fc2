// Step: on es-mtls's standalone CRDs, say which of the cluster's objects (the Elasticsearch, its
// Kibanas) lack eck.k8s.elastic.co/managed: "false" (policy/standalone-marker.ts): a condition on
// the ClientAuthentication and a Warning Event on each such object. Nothing is refused: the
// cluster works without ECK either way; the annotation matters once ECK is installed.
import type { Condition } from "../resources.ts";
import { ECK_MANAGED_ANNOTATION } from "../names.ts";
import { unmarkedStandaloneObjects } from "../policy/standalone-marker.ts";
import { cond } from "../status/conditions.ts";
import { esTarget, kibanaTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { EventSink } from "./deps.ts";

export const UNMANAGED_BY_ECK_CONDITION = "UnmanagedByECK";

/** No condition under ECK's CRDs (or an unread CRD): there the annotation is no rule. */
export async function reportUnmarked(c: ClusterView, standaloneCrd: boolean, d: { events: EventSink }): Promise<Condition[]> {
  if (!standaloneCrd) return [];
  // Kinds from the step, not the objects: a listed item may carry no kind.
  const unmarked = [
    ...unmarkedStandaloneObjects([c.es], true).map((es) => ({ kind: "Elasticsearch", meta: es.metadata, target: esTarget(es) })),
    ...unmarkedStandaloneObjects(c.kibanas, true).map((kb) => ({ kind: "Kibana", meta: kb.metadata, target: kibanaTarget(kb) })),
  ];
  const wanted = `${ECK_MANAGED_ANNOTATION}: "false"`;
  for (const o of unmarked) {
    await d.events.record(o.target, "Warning", "ECKManagedAnnotationMissing", `this ${o.kind} of es-mtls's standalone CRDs lacks ${wanted}: an ECK installed later would reconcile it into a second cluster; annotate it`);
  }
  if (!unmarked.length) return [cond(UNMANAGED_BY_ECK_CONDITION, "True", "Annotated", `the Elasticsearch and its ${c.kibanas.length} Kibana(s) carry ${wanted}: an ECK installed later skips them`)];
  const names = unmarked.map((o) => `${o.kind} ${o.meta.namespace}/${o.meta.name}`).join(", ");
  return [cond(UNMANAGED_BY_ECK_CONDITION, "False", "AnnotationMissing", `${names} lack(s) ${wanted}, which es-mtls's standalone CRDs require: an ECK installed later would reconcile it into a second cluster (README, "When ECK comes or goes")`)];
}
