// Step: which Kibanas of another namespace may reference this cluster (a namespace is a trust
// boundary). An unauthorized one is left out entirely: no identity signed by this cluster's CA,
// no pinned certificate, no intent, and its pods never hold up this cluster's transitions. It is
// said once as an Event on that Kibana and in the References condition.
import type { Condition, Kibana } from "../resources.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";
import { cond } from "../status/conditions.ts";
import { kibanaTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { EventSink } from "./deps.ts";

export async function authorizeKibanas(c: ClusterView, d: { references: ReferenceAuthorizer; events: EventSink }): Promise<{ view: ClusterView; condition: Condition }> {
  const refused: Array<{ kibana: Kibana; reason: string }> = [];
  for (const kb of c.kibanas) {
    const decision = await d.references.authorize(
      { namespace: kb.metadata.namespace, serviceAccount: kb.spec?.serviceAccountName || "default" },
      { namespace: c.namespace, name: c.name },
    );
    if (!decision.allowed) refused.push({ kibana: kb, reason: decision.reason });
  }
  for (const r of refused) await d.events.record(kibanaTarget(r.kibana), "Warning", "ReferenceNotAuthorized", `elasticsearchRef ${c.namespace}/${c.name} is not used: ${r.reason}`);
  if (!refused.length) return { view: c, condition: cond("References", "True", "Authorized", `${c.kibanas.length} Kibana reference(s) in use`) };
  const out = new Set(refused.map((r) => r.kibana.metadata.uid));
  const pods = c.pods.filter((p) => !p.kibana || !out.has(p.kibana.metadata.uid));
  const names = refused.map((r) => `Kibana ${r.kibana.metadata.namespace}/${r.kibana.metadata.name}`).join(", ");
  return {
    view: { ...c, kibanas: c.kibanas.filter((kb) => !out.has(kb.metadata.uid)), pods },
    condition: cond("References", "False", "NotAuthorized", `${refused.length} cross-namespace reference(s) not authorized and left out: ${names}`),
  };
}
