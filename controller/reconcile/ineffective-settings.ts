// Step: the user's own client_authentication (a nodeSet's config, a replaced environment
// variable) loses to the injected setting, since the image's environment overrides
// elasticsearch.yml. Said once per cause on the Elasticsearch, as ECK says a spec is ineffective.
import type { Phase } from "../../protocol/intent.ts";
import { EventBatch } from "../kube/events.ts";
import { enforcementForNewPods } from "../policy/phases.ts";
import { injectionRecord } from "../policy/injection-record.ts";
import { ineffectiveNodeSetSettings } from "../policy/validation.ts";
import { esTarget } from "./event-targets.ts";
import type { ClusterView } from "./view.ts";
import type { EventSink } from "./deps.ts";

export async function reportIneffectiveSettings(c: ClusterView, phase: Phase, d: { events: EventSink }): Promise<void> {
  const injected = enforcementForNewPods(phase);
  const batch = new EventBatch(d.events);
  for (const s of ineffectiveNodeSetSettings(c.es, injected)) {
    batch.add(esTarget(c.es), "Warning", "SettingIneffective", `nodeSet setting(s) ineffective: es-mtls sets ${s.setting}=${injected} through the environment, which overrides elasticsearch.yml, while client authentication is ${phase}`, `nodeSet ${s.nodeSet}: ${s.setting}=${s.value}`);
  }
  for (const p of c.pods) {
    for (const name of injectionRecord(p.pod)?.overridden ?? []) {
      batch.add(esTarget(c.es), "Warning", "SettingIneffective", "environment variable(s) of the workload replaced by es-mtls's settings", `pod ${p.pod.metadata!.name}: ${name}`);
    }
  }
  await batch.flush();
}
