// controller/admission/injection.ts: injection decisions and patches.
import { describe, expect, test } from "bun:test";
import type { V1Container, V1Pod } from "@kubernetes/client-node";
import { injectPod } from "../../../controller/admission/injection.ts";
import { injectionRecord, isInjected } from "../../../controller/policy/injection-record.ts";
import { applyPatch } from "../../support/json-patch.ts";
import { esMode, esPod, injectionConfig, kibanaMode, kibanaPod } from "../../support/eck-pods.ts";

const agentOf = (pod: V1Pod): V1Container | undefined => [...(pod.spec?.initContainers ?? []), ...pod.spec!.containers].find((c) => c.name === "es-mtls-agent");

describe("injection decisions", () => {
  const config = injectionConfig();

  test("skips pods of non-mTLS clusters, the controller's namespace, non-ECK pods, injected pods, other clusters and inactive phases", () => {
    const pod = esPod("prod", "quickstart", "quickstart-es-default-0");
    expect(injectPod(pod, undefined, config)).toEqual({ patch: [], skipped: "not a pod of a cluster with client authentication" });
    expect(injectPod(esPod("es-mtls-system", "quickstart", "x"), esMode("es-mtls-system", "quickstart"), config).skipped).toContain("controller's namespace");
    const plain: V1Pod = { metadata: { name: "p", namespace: "prod", labels: { app: "x" } }, spec: { containers: [{ name: "c" }] } };
    expect(injectPod(plain, esMode("prod", "quickstart"), config).skipped).toContain("not an Elasticsearch or Kibana pod");
    // "Already injected" is what the pod holds (the agent container), never an annotation anyone can copy into a template (issue 9 item 5).
    const withAgent: V1Pod = { ...pod, spec: { ...pod.spec!, initContainers: [{ name: "es-mtls-agent" }] } };
    expect(injectPod(withAgent, esMode("prod", "quickstart"), config).skipped).toBe("already injected");
    const spoofed = esPod("prod", "quickstart", "p", { annotations: { "mtls.es-mtls.io/injected": '{"version":1,"enforcement":"required"}' } });
    expect(injectPod(spoofed, esMode("prod", "quickstart"), config).skipped).toBeUndefined();
    expect(injectPod(pod, esMode("prod", "other"), config).skipped).toContain("not prod/other");
    expect(injectPod(pod, kibanaMode("prod", "quickstart"), config).skipped).toContain("cluster mode is for kibana");
    for (const phase of ["Disabled", "Blocked"] as const) {
      expect(injectPod(pod, esMode("prod", "quickstart", { phase }), config)).toEqual({ patch: [], skipped: `cluster phase is ${phase}: nothing to inject` });
    }
  });

  test("issue 19 item 5: a Job's pod (restartPolicy Never/OnFailure) with Kibana's or Elasticsearch's labels is never injected: no sidecar holds the Job open, in either sidecar mode", () => {
    for (const sidecarMode of ["native", "classic"] as const) {
      for (const restartPolicy of ["Never", "OnFailure"]) {
        const kb = kibanaPod("prod", "kb", "kb-hook-x");
        kb.spec!.restartPolicy = restartPolicy;
        expect(injectPod(kb, kibanaMode("prod", "quickstart"), { ...config, sidecarMode })).toEqual({ patch: [], skipped: `a run-to-completion pod (restartPolicy ${restartPolicy}): never injected` });
        const es = esPod("prod", "quickstart", "es-job-x");
        es.spec!.restartPolicy = restartPolicy;
        expect(injectPod(es, esMode("prod", "quickstart"), { ...config, sidecarMode }).patch).toEqual([]);
      }
    }
    // The same pod restartPolicy Always (or unset, which the apiserver defaults to Always) is injected.
    const kb = kibanaPod("prod", "kb", "kb-kb-x");
    kb.spec!.restartPolicy = "Always";
    expect(injectPod(kb, kibanaMode("prod", "quickstart"), config).patch.length).toBeGreaterThan(0);
  });

  test("refuses to mount over an existing mount at ECK's path (ECK's own feature on)", () => {
    const pod = esPod("prod", "quickstart", "p");
    pod.spec!.containers[0]!.volumeMounts!.push({ name: "elastic-internal-client-trust-bundle", mountPath: "/usr/share/elasticsearch/config/client-trust-bundle/" });
    expect(injectPod(pod, esMode("prod", "quickstart"), config).skipped).toContain("already mounted (volume elastic-internal-client-trust-bundle)");
  });

  test("refuses a pod whose own container mounts a volume injection adds (issue 18 finding 3): the probe key, Kibana's key, the agent's token", () => {
    // A sidecar declaring a mount of es-mtls-probe (no such volume yet): injected, it would read the probe identity's key.
    const sidecar = esPod("prod", "quickstart", "p");
    sidecar.spec!.containers.push({ name: "exfil", image: "busybox", volumeMounts: [{ name: "es-mtls-probe", mountPath: "/steal" }] });
    const refused = injectPod(sidecar, esMode("prod", "quickstart"), config);
    expect(refused.patch).toEqual([]);
    expect(refused.refused).toBe("es-mtls: containers exfil mounts volume es-mtls-probe, which es-mtls injects for its agent and the elasticsearch container's probe identity; only they may mount it: remove the mount");
    // The same from an init container, and for the agent's token and Kibana's key.
    const init = esPod("prod", "quickstart", "p");
    init.spec!.initContainers![0]!.volumeMounts = [{ name: "es-mtls-agent", mountPath: "/t" }];
    expect(injectPod(init, esMode("prod", "quickstart"), config).refused).toContain("initContainers elastic-internal-init-filesystem mounts volume es-mtls-agent");
    const kb = kibanaPod("prod", "kb", "kb-0");
    kb.spec!.containers.push({ name: "other", image: "x", volumeMounts: [{ name: "es-mtls-material", mountPath: "/k" }] });
    expect(injectPod(kb, kibanaMode("prod", "quickstart"), config).refused).toContain("containers other mounts volume es-mtls-material");
    // The elasticsearch container itself may (it reads the probe folder anyway); a pod injection leaves alone is not refused.
    const own = esPod("prod", "quickstart", "p");
    own.spec!.containers[0]!.volumeMounts!.push({ name: "es-mtls-probe", mountPath: "/elsewhere" });
    expect(injectPod(own, esMode("prod", "quickstart"), config).refused).toBeUndefined();
    expect(injectPod(sidecar, esMode("prod", "quickstart", { phase: "Disabled" }), config)).toEqual({ patch: [], skipped: "cluster phase is Disabled: nothing to inject" });
  });

  test("a patched ES pod: agent last among init containers, settings per enforcement, user duplicates replaced (their CAs carried on), second pass is a no-op", () => {
    const pod = esPod("prod", "quickstart", "p", {
      env: [
        { name: "ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION", value: "optional" },
        { name: "xpack.security.http.ssl.certificate_authorities", value: "/mine.crt" },
        { name: "node.roles", value: "master" },
      ],
    });
    const { patch, record } = injectPod(pod, esMode("prod", "quickstart", { phase: "Disabling", enforcement: "none" }), config);
    const out = applyPatch(pod, patch as any);
    expect(out.spec!.initContainers!.map((c) => c.name)).toEqual(["elastic-internal-init-filesystem", "es-mtls-agent"]);
    expect(out.spec!.containers.map((c) => c.name)).toEqual(["elasticsearch"]);
    expect(out.spec!.containers[0]!.env).toEqual([
      { name: "POD_NAME", value: "p" },
      { name: "node.roles", value: "master" },
      { name: "xpack.security.http.ssl.client_authentication", value: "none" },
      {
        name: "xpack.security.http.ssl.certificate_authorities",
        // The container's own CAs (as the Helm chart sets its HTTP CA), then the bundle.
        value: "/mine.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
      },
      { name: "CURL_HOME", value: "/usr/share/elasticsearch/config/es-mtls-probe" },
    ]);
    expect(record!.overridden).toEqual(["ES_SETTING_XPACK_SECURITY_HTTP_SSL_CLIENT__AUTHENTICATION"]);
    expect(injectionRecord(out)).toEqual(record);
    expect(isInjected(out)).toBe(true);
    expect(injectPod(out, esMode("prod", "quickstart"), config)).toEqual({ patch: [], skipped: "already injected" });
  });

  test("user certificate_authorities replace the HTTP CA default and the bundle is appended (ECK's order)", () => {
    const { record } = injectPod(esPod("prod", "q", "p"), esMode("prod", "q", { userCertificateAuthorities: ["/usr/share/elasticsearch/config/extra/ca.crt"] }), config);
    expect(record!.settings["xpack.security.http.ssl.certificate_authorities"]).toBe(
      "/usr/share/elasticsearch/config/extra/ca.crt,/usr/share/elasticsearch/config/client-trust-bundle/client-trust-bundle.crt",
    );
  });

  test("the agent runs as the workload's UID, never root, and with the hardening", () => {
    const withUid = esPod("prod", "q", "p");
    withUid.spec!.securityContext = { runAsUser: 4242, runAsGroup: 4343 };
    expect(agentOf(applyPatch(withUid, injectPod(withUid, esMode("prod", "q"), config).patch as any))!.securityContext).toEqual({
      runAsNonRoot: true,
      runAsUser: 4242,
      runAsGroup: 4343,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      privileged: false,
      capabilities: { drop: ["ALL"] },
      seccompProfile: { type: "RuntimeDefault" },
    });
    const root = esPod("prod", "q", "p");
    root.spec!.containers[0]!.securityContext = { runAsUser: 0 };
    expect(agentOf(applyPatch(root, injectPod(root, esMode("prod", "q"), config).patch as any))!.securityContext!.runAsUser).toBe(1000);
  });

  test("Kibana: client certificate settings, the user's Secret mounted in the agent only, probe scheme from Kibana's own probe", () => {
    const pod = kibanaPod("prod", "kb", "kb-kb-abc");
    const { patch } = injectPod(pod, kibanaMode("prod", "quickstart", { kibanaUserSecret: "my-cert" }), config);
    const out = applyPatch(pod, patch as any);
    expect(out.spec!.containers[0]!.env).toEqual([
      { name: "ELASTICSEARCH_SSL_CERTIFICATE", value: "/usr/share/kibana/config/elasticsearch-client-certs/tls.crt" },
      { name: "ELASTICSEARCH_SSL_KEY", value: "/usr/share/kibana/config/elasticsearch-client-certs/tls.key" },
      { name: "ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE", value: "true" },
    ]);
    expect(out.spec!.volumes!.find((v) => v.name === "es-mtls-user-client-cert")).toEqual({ name: "es-mtls-user-client-cert", secret: { secretName: "my-cert" } });
    const agent = agentOf(out)!;
    expect(agent.volumeMounts).toContainEqual({ name: "es-mtls-user-client-cert", mountPath: "/var/run/secrets/es-mtls-user-client-cert", readOnly: true });
    expect(out.spec!.containers[0]!.volumeMounts).toEqual([{ name: "es-mtls-material", mountPath: "/usr/share/kibana/config/elasticsearch-client-certs", readOnly: true }]);
    expect(agent.env).toContainEqual({ name: "ES_MTLS_PROBE_URL", value: "https://127.0.0.1:5601" });
    expect(agent.env).toContainEqual({ name: "ES_MTLS_ROLE", value: "kibana" });
  });

  test("classic mode: one-shot init container plus a classic sidecar, no native restartPolicy", () => {
    const pod = esPod("prod", "q", "p");
    const out = applyPatch(pod, injectPod(pod, esMode("prod", "q"), injectionConfig({ sidecarMode: "classic" })).patch as any);
    const init = out.spec!.initContainers!.find((c) => c.name === "es-mtls-agent-init")!;
    expect(init.args).toEqual(["--once"]);
    expect(init.restartPolicy).toBeUndefined();
    expect(init.startupProbe ?? init.readinessProbe ?? init.livenessProbe).toBeUndefined();
    const sidecar = out.spec!.containers.find((c) => c.name === "es-mtls-agent")!;
    expect(sidecar.restartPolicy).toBeUndefined();
    expect(sidecar.readinessProbe!.httpGet!.path).toBe("/readyz");
    expect(injectionRecord(out)!.sidecar).toBe("classic");
  });

  test("token lifetime is bounded", () => {
    const lifetime = (s: number) => {
      const out = applyPatch(esPod("n", "q", "p"), injectPod(esPod("n", "q", "p"), esMode("n", "q"), injectionConfig({ tokenExpirationSeconds: s })).patch as any);
      return out.spec!.volumes!.find((v) => v.name === "es-mtls-agent")!.projected!.sources![0]!.serviceAccountToken!.expirationSeconds;
    };
    expect([lifetime(60), lifetime(7200), lifetime(10 ** 7)]).toEqual([600, 7200, 86400]);
  });
});
