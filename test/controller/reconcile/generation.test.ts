// Issue 21, propagation: a new generation is reserved on the trust-bundle Secret (one annotation)
// before agents see it, and the status (one entry per pod, the apiserver's slowest write at 1,100
// pods) is written after. What must still hold: a generation never goes out twice with different
// content, also when the status write failed and another controller takes over.
import { describe, expect, test } from "bun:test";
import type { V1Secret } from "@kubernetes/client-node";
import type { Kibana } from "../../../controller/resources.ts";
import { INTENT_GENERATION_RESERVED_ANNOTATION, trustBundleSecretName } from "../../../controller/names.ts";
import { MAX_RESERVATION_LEAD, nextGeneration, parseReservation } from "../../../controller/reconcile/generation.ts";
import { selfSignedClient } from "../../support/test-ca.ts";
import { clientCertLabels } from "../../support/client-cert-secret.ts";
import { ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const POD = "quickstart-es-default-0";
const BUNDLE = trustBundleSecretName(ES_NAME);
const kb: Kibana = { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: "kb", namespace: NS, uid: "uid-kb" }, spec: { elasticsearchRef: { name: ES_NAME } } };
const labelled = (name: string, pem: string): V1Secret => ({
  metadata: { name, namespace: NS, uid: `uid-${name}`, labels: clientCertLabels(ES_NAME, NS), ownerReferences: [{ apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", name: "kb", uid: "uid-kb" }] },
  data: { "tls.crt": btoa(pem) },
});
const reserved = (h: ReturnType<typeof setup>) => h.caches.managedSecrets.get(BUNDLE, NS)?.metadata?.annotations?.[INTENT_GENERATION_RESERVED_ANNOTATION];
const withReservation = (v: string): V1Secret => ({ metadata: { name: BUNDLE, annotations: { [INTENT_GENERATION_RESERVED_ANNOTATION]: v } } });

async function enabledCluster() {
  const h = setup({ license: license("enterprise"), pods: [esPod(POD, "required")] });
  h.caches.kibana.put(kb);
  await h.reconcile();
  return h;
}

describe("intent generations", () => {
  test("nextGeneration: same content keeps its number; this process's last publication counts before the status; a new leader goes past every reservation", () => {
    const prev = { intentGeneration: 4, intentHash: "h4" };
    expect(nextGeneration(prev, "h4")).toBe(4);
    expect(nextGeneration(prev, "h5")).toBe(5);
    expect(nextGeneration({}, "h1")).toBe(1);
    // Published 5 (h5); the status still says 4 (its write failed or is on its way).
    expect(nextGeneration(prev, "h5", { published: { generation: 5, hash: "h5" } })).toBe(5);
    expect(nextGeneration(prev, "h4", { published: { generation: 5, hash: "h5" } })).toBe(6); // back to h4: not 4 again
    // A new leader: 5 reserved, the status says 4: 5 may be out with content it cannot know.
    expect(nextGeneration(prev, "h5", { reserved: 5 })).toBe(6);
    expect(nextGeneration(prev, "h4", { reserved: 5 })).toBe(6);
    // The reservation the status already covers changes nothing.
    expect(nextGeneration(prev, "h4", { reserved: 4 })).toBe(4);
    // Another leader moved on since this process published: its status wins.
    expect(nextGeneration({ intentGeneration: 9, intentHash: "h9" }, "h9", { published: { generation: 5, hash: "h5" } })).toBe(9);
  });

  test("a reservation is read only as a number, and believed at most MAX_RESERVATION_LEAD above the status", () => {
    expect(parseReservation(withReservation("7"), 6)).toBe(7);
    expect(parseReservation(withReservation("99999999999"), 6)).toBe(6 + MAX_RESERVATION_LEAD);
    for (const bad of ["", "-3", "1e9", "7 ", "0x10", "9".repeat(20)]) expect(parseReservation(withReservation(bad), 6)).toBeUndefined();
    expect(parseReservation(undefined, 6)).toBeUndefined();
  });

  test("a new bundle: the generation is reserved on the bundle Secret before the intents go out, the status written after", async () => {
    const h = await enabledCluster();
    const first = h.intents.get(NS, POD)!.generation;
    expect(h.status()?.intentGeneration).toBe(first);
    expect(reserved(h)).toBe(String(first));

    const user = await selfSignedClient({ cn: "new-user" });
    h.caches.clientCertSecrets.put(labelled("new-user", user.certPem));
    h.writer.writes = [];
    await h.reconcile();
    const next = h.intents.get(NS, POD)!.generation;
    expect(next).toBe(first + 1);
    expect(reserved(h)).toBe(String(next));
    expect(h.status()?.intentGeneration).toBe(next);
    const order = h.writer.writes.filter((w) => w.includes(BUNDLE) || w.startsWith("status"));
    expect(order).toEqual([`apply Secret ${BUNDLE}`, `patch Secret ${BUNDLE}`, `status ClientAuthentication ${ES_NAME}`]);
  });

  test("the status write fails after the intents went out: a retry publishes the same generation; a new leader with other content goes past it", async () => {
    const h = await enabledCluster();
    const first = h.intents.get(NS, POD)!.generation;
    const user = await selfSignedClient({ cn: "new-user" });
    h.caches.clientCertSecrets.put(labelled("new-user", user.certPem));
    h.writer.failStatus = new Error("etcdserver: request timed out");
    await expect(h.reconcile()).rejects.toThrow("request timed out");
    const published = h.intents.get(NS, POD)!;
    expect(published.generation).toBe(first + 1);
    expect(h.status()?.intentGeneration).toBe(first); // not written
    expect(reserved(h)).toBe(String(first + 1));

    // The same controller retries: same content, same number, no second reservation.
    h.writer.writes = [];
    await expect(h.reconcile()).rejects.toThrow("request timed out");
    expect(h.intents.get(NS, POD)!.generation).toBe(first + 1);
    expect(h.writer.writes.filter((w) => w.startsWith("patch Secret"))).toEqual([]);

    // It stops; the next leader sees other content (the user's Secret gone) and a status at `first`:
    // generation first + 1 went out with the user's certificate, so the new content goes past it.
    h.caches.clientCertSecrets.delete(NS, "new-user");
    h.writer.failStatus = undefined;
    const leader = h.newLeader();
    await leader.reconcile();
    const after = leader.intents.get(NS, POD)!;
    expect(after.generation).toBe(first + 2);
    expect(after.trustBundle!.sha256).not.toBe(published.trustBundle!.sha256);
    expect(h.status()?.intentGeneration).toBe(first + 2);
    expect(reserved(h)).toBe(String(first + 2));
  });

  test("nothing changed: no reservation, no write (after a new leader too)", async () => {
    const h = await enabledCluster();
    await h.reconcile(); // reports settle nothing here; a second pass writes what the first left
    h.writer.writes = [];
    await h.reconcile();
    await h.newLeader().reconcile();
    expect(h.writer.writes).toEqual([]);
  });
});
