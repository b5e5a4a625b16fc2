// Step: the identity each Kibana of the cluster presents, with an Event on every Kibana whose
// identity is unusable and the KibanaIdentities condition.
import type { V1Secret } from "@kubernetes/client-node";
import type { Condition, Kibana } from "../kube/resources.ts";
import { cond } from "../status/conditions.ts";
import { kibanaIdentity, type KibanaIdentity } from "./kibana.ts";
import { kibanaTarget } from "./event-targets.ts";
import type { EventSink, SecretReader } from "./deps.ts";

export async function resolveKibanaIdentities(
  kibanas: Kibana[],
  d: { readUserSecret: SecretReader; events: EventSink; certValiditySeconds: number; clusterNamespace: string },
): Promise<{ identities: KibanaIdentity[]; condition: Condition }> {
  const identities: KibanaIdentity[] = [];
  for (const kb of kibanas) {
    const secretName = kb.spec?.elasticsearchRef?.clientCertificateSecretName;
    const secret: V1Secret | undefined = secretName ? await d.readUserSecret(kb.metadata.namespace, secretName) : undefined;
    identities.push(kibanaIdentity(kb, secret, { certValiditySeconds: d.certValiditySeconds, clusterNamespace: d.clusterNamespace }));
  }
  const bad: string[] = [];
  for (const k of identities) {
    if (k.ok) continue;
    await d.events.record(kibanaTarget(k.kibana), "Warning", "ClientCertificateInvalid", k.reason);
    bad.push(`Kibana ${k.kibana.metadata.namespace}/${k.kibana.metadata.name}: ${k.reason}`);
  }
  const condition = bad.length
    ? cond("KibanaIdentities", "False", "ClientCertificateInvalid", bad.join("; "))
    : cond("KibanaIdentities", "True", "Resolved", `${identities.length} Kibana identity(ies) resolved`);
  return { identities, condition };
}
