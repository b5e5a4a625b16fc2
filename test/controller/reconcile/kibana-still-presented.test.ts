// Kibana and clientCertificateSecretName. Switching away from it (back to a managed identity, or to another
// Secret): its running pods present the old certificate until restarted (Kibana reads it only at
// start), so that Secret stays pinned while such a pod runs. Found by the transitions-under-load
// test: Kibana was refused for ~9 s between the switch back and its restart.
import { expect, test } from "bun:test";
import type { V1Pod, V1Secret } from "@kubernetes/client-node";
import { cannotLoadIdentity, stillPresented } from "../../../controller/reconcile/kibana-identities.ts";
import { kibanaIdentity } from "../../../controller/reconcile/kibana.ts";
import { KIBANA_NAME_LABEL, USER_CERT_VOLUME } from "../../../controller/names.ts";
import type { Kibana } from "../../../controller/resources.ts";
import { selfSignedClient } from "../../support/test-ca.ts";

const NS = "ns";
const kibana = (secret?: string): Kibana => ({ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb", namespace: NS, uid: "kb-uid" }, spec: { elasticsearchRef: { name: "es", ...(secret ? { clientCertificateSecretName: secret } : {}) } } }) as Kibana;
const pod = (name: string, secret?: string, phase = "Running"): V1Pod => ({
  metadata: { name, uid: `uid-${name}`, namespace: NS, labels: { [KIBANA_NAME_LABEL]: "kb" } },
  spec: { containers: [{ name: "kibana" }], volumes: secret ? [{ name: USER_CERT_VOLUME, secret: { secretName: secret } }] : [] },
  status: { phase },
});

test("a user Secret a running Kibana pod still mounts stays pinned after the Kibana switched away; not once the pod is gone, nor twice", async () => {
  const leaf = await selfSignedClient({ cn: "kibana-user" });
  const secrets: Record<string, V1Secret> = {
    mine: { metadata: { name: "mine", namespace: NS }, data: { "tls.crt": btoa(leaf.certPem), "tls.key": btoa(leaf.key) } },
  };
  const d = { readUserSecret: async (_ns: string, name: string) => secrets[name] };
  const managed = [kibanaIdentity(kibana(), undefined, { certValiditySeconds: 3600 })];
  // Switched back to managed; the old pod (with the Secret mounted) still runs, the new one mounts nothing.
  const kept = await stillPresented([pod("kb-old", "mine"), pod("kb-new")], managed, d);
  expect(kept.map((k) => k.ok && k.pinned?.metadata?.name)).toEqual(["mine"]);
  // Two old pods mounting it: pinned once.
  expect((await stillPresented([pod("a", "mine"), pod("b", "mine")], managed, d)).length).toBe(1);
  // Terminating: its Kibana still runs (and presents) until the grace period ends.
  const terminating = { ...pod("kb-old", "mine"), metadata: { ...pod("kb-old", "mine").metadata, deletionTimestamp: new Date() } };
  expect((await stillPresented([terminating], managed, d)).length).toBe(1);
  // The old pod is gone (or finished): nothing is kept.
  expect(await stillPresented([pod("kb-new")], managed, d)).toEqual([]);
  expect(await stillPresented([pod("kb-old", "mine", "Succeeded")], managed, d)).toEqual([]);
  // Still referenced by the Kibana: already pinned by its identity, not again.
  const user = [kibanaIdentity(kibana("mine"), secrets.mine, { certValiditySeconds: 3600 })];
  expect(await stillPresented([pod("kb-old", "mine")], user, d)).toEqual([]);
  // The Secret was deleted meanwhile: nothing to trust.
  expect(await stillPresented([pod("kb-old", "gone")], managed, d)).toEqual([]);
});

test("a Kibana pod admitted without the Secret its Kibana now names can never load it: it needs a restart", async () => {
  // Found by the transitions-under-load test: a restart for a renewed certificate raced the switch;
  // the replacement came without the Secret's volume and never became Ready.
  const leaf = await selfSignedClient({ cn: "kibana-user" });
  const secret: V1Secret = { metadata: { name: "mine", namespace: NS }, data: { "tls.crt": btoa(leaf.certPem), "tls.key": btoa(leaf.key) } };
  const user = [kibanaIdentity(kibana("mine"), secret, { certValiditySeconds: 3600 })];
  expect([...cannotLoadIdentity([pod("none"), pod("other", "theirs"), pod("ok", "mine")], user)]).toEqual(["uid-none", "uid-other"]);
  // A managed identity needs no volume.
  expect([...cannotLoadIdentity([pod("none"), pod("old", "mine")], [kibanaIdentity(kibana(), undefined, { certValiditySeconds: 3600 })])]).toEqual([]);
});
