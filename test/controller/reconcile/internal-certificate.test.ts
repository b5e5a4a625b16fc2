// Issue 21: the controller's own client certificate was parsed, key-matched and signature-checked
// again whenever its Secret's data object was a new one: after every issue (the write's answer, then
// the cache's read), in each cluster's echo reconcile of an initial sync (60 % of their CPU at 1,000
// clusters). It is now remembered by content: one issued here, or judged once, is not judged again
// for the same signer, whichever copy of the Secret comes; a different key with it still is.
import { expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import { ensureInternalCertificate, leafJudgments, type PkiSettings } from "../../../controller/reconcile/cluster-pki.ts";
import { createClientCa } from "../../../controller/pki/ca.ts";
import { generateP256KeyPair, privateKeyToPem } from "../../../controller/pki/keys.ts";
import type { Elasticsearch } from "../../../controller/resources.ts";

const settings: PkiSettings = { caValidityMs: 365 * 86400_000, caRotateBeforeMs: 30 * 86400_000, certValidityMs: 90 * 86400_000, certRotateBeforeMs: 10 * 86400_000, caNamespace: "es-mtls-system" };
const es = { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: "quickstart", namespace: "prod", uid: "uid-1" }, spec: {} } as unknown as Elasticsearch;

function recordingWriter() {
  const applied: V1Secret[] = [];
  return {
    applied,
    apply: async <T,>(obj: T) => (applied.push(structuredClone(obj) as V1Secret), obj),
    createSecret: async (s: V1Secret) => s,
    replaceSecret: async (s: V1Secret) => s,
  };
}

test("a certificate issued here is not judged again when its Secret comes back as another copy; a swapped key is judged and reissued", async () => {
  const ca = await createClientCa("quickstart", { validityMs: settings.caValidityMs });
  const writer = recordingWriter();
  const notAfter = await ensureInternalCertificate(es, undefined, ca, writer, settings);
  expect(writer.applied).toHaveLength(1);
  const issued = writer.applied[0]!;

  // The cache's copy (a new object, the same content): no judgment, no write.
  const before = leafJudgments.count;
  const copy = structuredClone(issued);
  expect(await ensureInternalCertificate(es, copy, ca, writer, settings)).toEqual(notAfter);
  expect(await ensureInternalCertificate(es, structuredClone(issued), ca, writer, settings)).toEqual(notAfter);
  expect(leafJudgments.count).toBe(before);
  expect(writer.applied).toHaveLength(1);

  // The same certificate with another private key: judged, found wrong, reissued.
  const other = await generateP256KeyPair();
  const swapped = structuredClone(issued);
  swapped.data!["tls.key"] = btoa(await privateKeyToPem(other.privateKey));
  await ensureInternalCertificate(es, swapped, ca, writer, settings);
  expect(leafJudgments.count).toBe(before + 1);
  expect(writer.applied).toHaveLength(2);

  // Another signer: judged again (not signed by it), reissued.
  const next = await createClientCa("quickstart", { validityMs: settings.caValidityMs });
  await ensureInternalCertificate(es, structuredClone(writer.applied[1]!), next, writer, settings);
  expect(leafJudgments.count).toBe(before + 2);
  expect(writer.applied).toHaveLength(3);
});
