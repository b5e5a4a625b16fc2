// The cluster reconciler's pipeline without an apiserver (fakes in cluster-fakes.ts): the phase
// decisions, the proof gate and "no write when nothing changed".
import { describe, expect, test } from "bun:test";
import { clientCaSecretName, ECK_MANAGED_ANNOTATION } from "../../../controller/names.ts";
import { type ClientAuthenticationStatus } from "../../../controller/resources.ts";
import { MSG_LICENSE } from "../../../controller/policy/license.ts";
import { CA_NS, ES_NAME, NS, esPod, license, setup } from "../../support/cluster-fakes.ts";

const condition = (s: Partial<ClientAuthenticationStatus> | undefined, type: string) => s?.conditions?.find((c) => c.type === type);

describe("cluster pipeline", () => {
  test("Disabled → Enabling when the spec asks for client authentication: CA, controller certificate, bundle, annotation, intents", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [pod] });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    expect(h.writer.writes).toContain(`create Secret ${clientCaSecretName(NS, ES_NAME)}`);
    // The CA (with its key) is in the controller's namespace, nothing of it in the workload namespace.
    expect(h.caches.caSecrets.get(clientCaSecretName(NS, ES_NAME), CA_NS)?.data?.["tls.key"]).toBeDefined();
    expect(h.caches.managedSecrets.list(NS).some((s) => s.metadata?.name?.includes("client-ca"))).toBe(false);
    expect(h.writer.writes).toContain(`apply Secret ${ES_NAME}-es-internal-client-cert`);
    expect(h.writer.writes).toContain(`apply Secret ${ES_NAME}-es-client-trust-bundle`);
    expect(h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations?.["eck.k8s.elastic.co/client-authentication-required"]).toBe("true");
    const intent = h.intents.get(NS, pod.metadata!.name!);
    expect(intent?.phase).toBe("Enabling");
    expect(intent?.enforcement).toBe("required");
    expect(intent?.trustBundle?.sha256).toBe(h.status()!.bundleSha256!);
    expect(h.reconciler.caFor(NS, ES_NAME)).toBeDefined();
  });

  test("Blocked without an enterprise license: no Secret, no intent, ECK's message", async () => {
    const h = setup({ license: license("basic"), pods: [esPod("quickstart-es-default-0", "required")] });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    expect(condition(h.status(), "Ready")).toMatchObject({ status: "False", reason: "LicenseRequired" });
    expect(condition(h.status(), "Ready")?.message).toContain(MSG_LICENSE);
    expect(h.writer.writes.filter((w) => w.includes("Secret"))).toEqual([]);
    // A pod that carries the agent is never refused: it gets a retired intent (inert bundle, no identity).
    const retired = h.intents.get(NS, "quickstart-es-default-0");
    expect(retired?.phase).toBe("Blocked");
    expect(retired?.identity).toBeUndefined();
    expect(retired?.trustBundle?.pem).toContain("BEGIN CERTIFICATE");
    expect(h.events.recorded).toContain(`Warning LicenseRequired: ${MSG_LICENSE}`);
  });

  test("Blocked with ECK installed but no licensing ConfigMap, and with an expired enterprise license", async () => {
    const none = setup();
    none.caches.licensing.observation = { eck: "installed", namespace: "elastic-system", configMap: undefined };
    await none.reconcile();
    expect(none.status()?.phase).toBe("Blocked");
    expect(condition(none.status(), "LicenseValid")?.message).toContain("current level: basic");
    const expired = setup({ license: license("enterprise", "2020-01-01T00:00:00Z") });
    await expired.reconcile();
    expect(expired.status()?.phase).toBe("Blocked");
    expect(condition(expired.status(), "LicenseValid")?.message).toContain("expired 2020-01-01T00:00:00Z");
  });

  test("Blocked (pods carrying the agent) → Enabling, also after a controller restart: the return carries a new generation, never a changed intent at the retired one's", async () => {
    const pod = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("basic"), pods: [pod] });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Blocked");
    const blocked = h.intents.get(NS, pod.metadata!.name!)!;
    expect(blocked.phase).toBe("Blocked");
    // Persisted before the agent sees it, so a new leader cannot hand out the same generation again.
    expect(h.status()?.intentGeneration).toBe(blocked.generation);
    h.intents.remove(NS, pod.metadata!.name!); // a new leader starts with an empty intent store
    await h.reconcile();
    expect(h.intents.get(NS, pod.metadata!.name!)?.generation).toBe(blocked.generation);
    h.caches.licensing.put(license("enterprise"));
    await h.reconcile(); // threw "generation 1 is not above 1" before
    expect(h.status()?.phase).toBe("Enabling");
    const back = h.intents.get(NS, pod.metadata!.name!)!;
    expect(back.phase).toBe("Enabling");
    expect(back.generation).toBeGreaterThan(blocked.generation);
  });

  test("Enabling → Enabled only once every Elasticsearch pod's report proves `required`", async () => {
    const pods = [esPod("quickstart-es-default-0", "required"), esPod("quickstart-es-default-1", "required")];
    const h = setup({ license: license("enterprise"), pods });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");

    h.prove(pods[0]!, "refused");
    h.prove(pods[1]!, "accepted"); // its Elasticsearch does not refuse a client without a certificate: no proof
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabling");
    expect(h.status()?.podsProven).toBe("1/2");

    h.prove(pods[1]!, "refused");
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");
    expect(condition(h.status(), "Ready")).toMatchObject({ status: "True", reason: "AllPodsProven" });
    expect(h.events.recorded.some((e) => e.startsWith("Normal ClientAuthenticationEnabled"))).toBe(true);
  });

  test("zero writes when nothing changed", async () => {
    const pods = [esPod("quickstart-es-default-0", "required")];
    const h = setup({ license: license("enterprise"), pods });
    // As the standalone CRDs' admission policy requires (else a Warning each pass, which the real recorder dedupes).
    h.caches.elasticsearch.get(ES_NAME, NS)!.metadata.annotations = { [ECK_MANAGED_ANNOTATION]: "false" };
    await h.reconcile();
    h.prove(pods[0]!, "refused");
    await h.reconcile(); // → Enabled
    expect(h.status()?.phase).toBe("Enabled");
    h.writer.writes = [];
    const eventsBefore = h.events.recorded.length;
    await h.reconcile();
    await h.reconcile();
    expect(h.writer.writes).toEqual([]);
    expect(h.events.recorded.length).toBe(eventsBefore);
  });

  test("Disabling → Disabled once every pod proves `none`: annotation first, then the Secrets", async () => {
    const enabled = esPod("quickstart-es-default-0", "required");
    const h = setup({ license: license("enterprise"), pods: [enabled] });
    await h.reconcile();
    h.caches.elasticsearch.put({ ...h.caches.elasticsearch.get(ES_NAME, NS)!, spec: { http: { tls: { client: { authentication: false } } } } });
    await h.reconcile();
    expect(h.status()?.phase).toBe("Disabling");
    expect(h.intents.get(NS, enabled.metadata!.name!)?.phase).toBe("Disabling");

    // The pod was restarted into `none` and its agent proved it.
    h.caches.pods.delete(NS, enabled.metadata!.name!);
    const restarted = esPod("quickstart-es-default-0b", "none");
    h.caches.pods.put(restarted);
    await h.reconcile();
    h.prove(restarted, "accepted");
    h.writer.writes = [];
    await h.reconcile();
    expect(h.status()?.phase).toBe("Disabled");
    expect(h.writer.writes.slice(0, 4)).toEqual([
      `patch Elasticsearch ${ES_NAME}`,
      `delete Secret ${ES_NAME}-es-internal-client-cert`,
      `delete Secret ${ES_NAME}-es-client-trust-bundle`,
      `delete Secret ${clientCaSecretName(NS, ES_NAME)}`,
    ]);
    // Its agent is told to start and stay out of the way, at a generation above all it saw (issue 13 item 1).
    const retired = h.intents.get(NS, restarted.metadata!.name!);
    expect(retired).toMatchObject({ phase: "Disabled", enforcement: "none" });
    expect(retired?.generation).toBe(h.status()!.intentGeneration);
    expect(retired?.identity).toBeUndefined();
  });

  test("a Kibana's own Secret is read through the replaceable reader; a missing one is reported, not published", async () => {
    const h = setup({ license: license("enterprise") });
    h.caches.kibana.put({
      apiVersion: "kibana.k8s.elastic.co/v1",
      kind: "Kibana",
      metadata: { name: "kb", namespace: NS, uid: "kb-uid" },
      spec: { elasticsearchRef: { name: ES_NAME, clientCertificateSecretName: "my-cert" } },
    });
    await h.reconcile();
    expect(h.userSecretReads).toEqual([`${NS}/my-cert`]);
    expect(condition(h.status(), "KibanaIdentities")).toMatchObject({ status: "False", reason: "ClientCertificateInvalid" });
    expect(h.events.recorded.some((e) => e.startsWith("Warning ClientCertificateInvalid") && e.includes("my-cert"))).toBe(true);
  });

  test("HTTP TLS: self-signed disabled but the user's own certificate (ECK's rule) is not Blocked; disabled without one is", async () => {
    const own = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    own.caches.elasticsearch.get(ES_NAME, NS)!.spec!.http!.tls = { client: { authentication: true }, selfSignedCertificate: { disabled: true }, certificate: { secretName: "my-http-cert" } } as never;
    await own.reconcile();
    expect(own.status()?.phase).toBe("Enabling");
    const none = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    none.caches.elasticsearch.get(ES_NAME, NS)!.spec!.http!.tls = { client: { authentication: true }, selfSignedCertificate: { disabled: true } } as never;
    await none.reconcile();
    expect(none.status()?.phase).toBe("Blocked");
    expect(condition(none.status(), "Ready")?.reason).toBe("TLSDisabled");
  });

  test("a nodeSet's own client_authentication is reported as ineffective (the injected environment overrides it), once per cause", async () => {
    const h = setup({ license: license("enterprise"), pods: [esPod("quickstart-es-default-0", "required")] });
    (h.caches.elasticsearch.get(ES_NAME, NS)!.spec as Record<string, unknown>).nodeSets = [
      { name: "hot", config: { "xpack.security.http.ssl.client_authentication": "optional" } },
      { name: "warm", config: { xpack: { security: { http: { ssl: { client_authentication: "none" } } } } } },
      { name: "cold", config: { "xpack.security.http.ssl.client_authentication": "required" } },
    ];
    await h.reconcile();
    const ineffective = h.events.byKind.filter((e) => e.reason === "SettingIneffective");
    expect(ineffective).toHaveLength(1);
    expect(ineffective[0]!.kind).toBe("Elasticsearch");
    expect(ineffective[0]!.message).toMatch(/^2 nodeSet setting\(s\) ineffective: es-mtls sets xpack.security.http.ssl.client_authentication=required/);
    expect(ineffective[0]!.message).toContain("nodeSet hot: xpack.security.http.ssl.client_authentication=optional");
    expect(ineffective[0]!.message).toContain("nodeSet warm: xpack.security.http.ssl.client_authentication=none");
    expect(ineffective[0]!.message).not.toContain("nodeSet cold");
  });

  describe("a transition finishes only when every pod the workload controller will (re)create is there (issue 13 item 1)", () => {
    const owned = (pod: ReturnType<typeof esPod>, uid = "sts-uid") => {
      pod.metadata!.ownerReferences = [{ apiVersion: "apps/v1", kind: "StatefulSet", name: "quickstart-es-default", uid, controller: true }];
      return pod;
    };
    const disabling = async (pods: ReturnType<typeof esPod>[]) => {
      const h = setup({ license: license("enterprise"), pods });
      h.replicas.set("StatefulSet/quickstart-es-default", 3);
      await h.reconcile();
      h.caches.elasticsearch.put({ ...h.caches.elasticsearch.get(ES_NAME, NS)!, spec: { http: { tls: { client: { authentication: false } } } } });
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabling");
      return h;
    };

    test("the last pod evicted is absent: proven pods are not enough, the StatefulSet's replicas count", async () => {
      const pods = ["0", "1"].map((i) => owned(esPod(`quickstart-es-default-${i}`, "none")));
      const h = await disabling(pods);
      for (const p of pods) h.prove(p, "accepted");
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabling");
      expect(condition(h.status(), "Ready")?.message).toContain("StatefulSet quickstart-es-default wants 3 pod(s), 2 exist");
      expect(h.writer.writes.filter((w) => w.startsWith("delete"))).toEqual([]);

      // The replacement, created while Disabling (so injected with `none`), comes up and proves it.
      const third = owned(esPod("quickstart-es-default-2", "none"));
      h.caches.pods.put(third);
      await h.reconcile();
      h.prove(third, "accepted");
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabled");
      expect(h.intents.get(NS, third.metadata!.name!)).toMatchObject({ phase: "Disabled", enforcement: "none" });
    });

    test("a restart persisted in status (the reconciler holds none in memory, as after a controller restart) blocks the finish until its replacement appears", async () => {
      const pods = ["0", "1", "2"].map((i) => owned(esPod(`quickstart-es-default-${i}`, "none")));
      const h = await disabling(pods);
      for (const p of pods) h.prove(p, "accepted");
      // What a controller that died right after evicting pod 2 left in status; a new reconciler sees it.
      h.caches.pods.delete(NS, pods[2]!.metadata!.name!);
      const ca = h.caches.clientAuth.get(ES_NAME, NS)!;
      const knownUids = pods.map((p) => p.metadata!.uid!);
      h.caches.clientAuth.put({ ...ca, status: { ...ca.status!, pendingRestart: { pod: pods[2]!.metadata!.name!, uid: knownUids[2]!, ownerUid: "sts-uid", knownUids } } });
      h.replicas.set("StatefulSet/quickstart-es-default", 2); // even if the replica count alone looks complete
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabling");
      expect(condition(h.status(), "Ready")?.message).toContain(`waiting for the replacement of pod ${pods[2]!.metadata!.name}`);
      expect(h.status()?.pendingRestart?.pod).toBe(pods[2]!.metadata!.name);

      const replacement = owned(esPod("quickstart-es-default-2", "none"));
      replacement.metadata!.uid = "uid-replacement";
      h.caches.pods.put(replacement);
      h.replicas.set("StatefulSet/quickstart-es-default", 3);
      h.prove(replacement, "accepted");
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabled");
    });

    test("a persisted restart whose pod still runs untouched was never evicted (PDB, crash before the call): dropped, not waited on", async () => {
      const pods = ["0", "1", "2"].map((i) => owned(esPod(`quickstart-es-default-${i}`, "none")));
      const h = await disabling(pods);
      for (const p of pods) h.prove(p, "accepted");
      const ca = h.caches.clientAuth.get(ES_NAME, NS)!;
      const knownUids = pods.map((p) => p.metadata!.uid!);
      h.caches.clientAuth.put({ ...ca, status: { ...ca.status!, pendingRestart: { pod: pods[1]!.metadata!.name!, uid: knownUids[1]!, ownerUid: "sts-uid", knownUids } } });
      await h.reconcile();
      expect(h.status()?.phase).toBe("Disabled");
    });
  });

  test("status from fresh proofs (issue 9 item 5): a spoofed record is no enforcement, and Ready drops when a pod stops proving", async () => {
    const pods = [esPod("quickstart-es-default-0", "required"), esPod("quickstart-es-default-1", "required")];
    const h = setup({ license: license("enterprise"), pods });
    await h.reconcile();
    for (const p of pods) h.prove(p, "refused");
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled");
    expect(h.status()?.enforcement).toBe("required");

    // A pod whose template carries the record but not the agent (copied by hand): it enforces nothing we know of.
    const spoofed = esPod("quickstart-es-default-2", "required");
    spoofed.spec!.initContainers = [];
    h.caches.pods.put(spoofed);
    await h.reconcile();
    expect(h.status()?.phase).toBe("Enabled"); // a phase once reached
    expect(h.status()?.enforcement).toBe("optional"); // what the proofs show: two of three
    expect(condition(h.status(), "Ready")).toMatchObject({ status: "False", reason: "NotProven" });
    expect(condition(h.status(), "Ready")?.message).toContain("quickstart-es-default-2");
    expect(h.status()?.pods?.find((p) => p.name === "quickstart-es-default-2")?.injected).toBe(false);
  });
});
