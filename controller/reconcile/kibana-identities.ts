// Step: the identity each Kibana of the cluster presents, with an Event on every Kibana whose
// identity is unusable and the KibanaIdentities condition.
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import type { Condition, Kibana } from "../resources.ts";
import { cond } from "../status/conditions.ts";
import { checkUserSecret, kibanaIdentity, type KibanaIdentity } from "./kibana.ts";
import { KIBANA_NAME_LABEL, USER_CERT_VOLUME } from "../names.ts";
import { kibanaTarget } from "./event-targets.ts";
import type { EventSink, SecretReader } from "./deps.ts";
import type { CacheViews } from "../kube/informers.ts";
import { kibanaPodsNamed, type ClusterView } from "./view.ts";

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

/** Pins of user certificates Kibana pods of the cluster still present after their Kibana switched away (restart pending). */
export async function pinsStillPresented(c: ClusterView, identities: KibanaIdentity[], d: { caches: CacheViews; readUserSecret: SecretReader }): Promise<KibanaIdentity[]> {
  // Terminating pods count: their Kibana still runs, and presents, until its grace period ends.
  const kibanaPods = c.kibanas.flatMap((kb) => kibanaPodsNamed(kb.metadata.namespace, kb.metadata.name, d.caches));
  return stillPresented(kibanaPods, identities, d);
}

/**
 * Kibana reads its client certificate only at start: a pod started with a user Secret's
 * certificate (clientCertificateSecretName, mounted by the webhook) keeps presenting it until it is
 * restarted, also after the Kibana switched to another identity. Those Secrets stay pinned while
 * such a pod runs, terminating included (as identities for the trust bundle only), so the switch
 * never refuses Kibana between the spec change and its restart. Read from the pods' own specs:
 * restart-safe.
 */
export async function stillPresented(
  kibanaPods: V1Pod[],
  identities: KibanaIdentity[],
  d: { readUserSecret: SecretReader },
): Promise<KibanaIdentity[]> {
  const pinned = new Set(identities.flatMap((k) => (k.ok && k.pinned ? [`${k.pinned.metadata?.namespace}/${k.pinned.metadata?.name}`] : [])));
  const out: KibanaIdentity[] = [];
  for (const pod of kibanaPods) {
    const ns = pod.metadata!.namespace!;
    const secretName = pod.spec?.volumes?.find((v) => v.name === USER_CERT_VOLUME)?.secret?.secretName;
    const kibana = identities.find((k) => k.kibana.metadata.namespace === ns && pod.metadata?.labels?.[KIBANA_NAME_LABEL] === k.kibana.metadata.name)?.kibana;
    if (!secretName || !kibana || pinned.has(`${ns}/${secretName}`) || pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") continue;
    const checked = checkUserSecret(await d.readUserSecret(ns, secretName), secretName);
    if (!checked.ok) continue; // deleted or no longer usable: nothing left to trust
    pinned.add(`${ns}/${secretName}`);
    out.push({ kibana, ok: true, identity: { source: "userProvided", mountPath: "" }, pinned: checked.secret });
  }
  return out;
}

/**
 * Kibana pods that cannot load their Kibana's user-provided identity: created without that
 * Secret's volume (admitted just before the Kibana switched to clientCertificateSecretName, or to
 * another Secret). Their agent can never read it, so they never prove; like a pod holding a renewed
 * certificate, they need a restart (the webhook then mounts the Secret). By UID.
 */
export function cannotLoadIdentity(kibanaPods: V1Pod[], identities: KibanaIdentity[]): Set<string> {
  const out = new Set<string>();
  for (const pod of kibanaPods) {
    const k = identities.find((i) => i.kibana.metadata.namespace === pod.metadata?.namespace && pod.metadata?.labels?.[KIBANA_NAME_LABEL] === i.kibana.metadata.name);
    if (!k?.ok || !k.pinned) continue;
    const mounted = pod.spec?.volumes?.find((v) => v.name === USER_CERT_VOLUME)?.secret?.secretName;
    if (mounted !== k.pinned.metadata?.name) out.add(pod.metadata!.uid!);
  }
  return out;
}
