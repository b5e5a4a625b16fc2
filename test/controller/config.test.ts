// Controller flags: the defaults an operator relies on, and the short lifetime of agents' certificates (issue 9 item 7).
import { expect, test } from "bun:test";
import { CONTROLLER_FLAGS, loadConfig } from "../../controller/config.ts";
import { ES_NAME, NS, esPod, license, setup } from "../support/cluster-fakes.ts";

const HOUR = 3_600_000;

test("defaults: agents' certificates live a week, the controller's own a year (ECK's), references across namespaces need RBAC", () => {
  const c = loadConfig([], {});
  expect(c.agentCertValidityMs).toBe(168 * HOUR);
  expect(c.certValidityMs).toBe(8760 * HOUR);
  expect(c.enforceRbacOnRefs).toBe(true);
  expect(loadConfig(["--agent-cert-validity=12h", "--enforce-rbac-on-refs=false"], {})).toMatchObject({ agentCertValidityMs: 12 * HOUR, enforceRbacOnRefs: false });
  expect(() => loadConfig(["--enforce-rbac-on-refs=maybe"], {})).toThrow(/enforce-rbac-on-refs/);
});

test("intents ask agents for certificates of the agent lifetime, not the controller's year", async () => {
  const pod = esPod("quickstart-es-default-0", "required");
  const h = setup({ license: license("enterprise"), pods: [pod] });
  await h.reconcile();
  const identity = h.intents.get(NS, pod.metadata!.name!)?.identity;
  // An Elasticsearch pod's proof identity: the agent lifetime capped at 2 h (issue 18 finding 5), never the controller's year.
  expect(identity).toMatchObject({ source: "managed", validitySeconds: 2 * 3600 });
  expect(h.caches.managedSecrets.get(`${ES_NAME}-es-internal-client-cert`, NS)).toBeDefined();
});

test("the agent's resources: the request covers its measured idle RSS (README, Performance: 54 MiB Bun, 65 MiB Deno); bad values are refused naming the flag", () => {
  expect(loadConfig([], {}).agentResources).toEqual({ requests: { cpu: "10m", memory: "80Mi" }, limits: { cpu: "200m", memory: "160Mi" } });
  expect(loadConfig(["--agent-memory-request=128Mi", "--agent-memory-limit=128Mi"], {}).agentResources.requests.memory).toBe("128Mi");
  expect(() => loadConfig(["--agent-memory-request=80MB"], {})).toThrow('--agent-memory-request: "80MB" is not a Kubernetes quantity');
  expect(() => loadConfig([], { ES_MTLS_AGENT_CPU_LIMIT: "-1" })).toThrow('--agent-cpu-limit: "-1" is not a Kubernetes quantity');
  // The apiserver would refuse every injected pod: refused at start instead.
  expect(() => loadConfig(["--agent-memory-request=200Mi"], {})).toThrow("--agent-memory-limit (160Mi) is below --agent-memory-request (200Mi)");
  expect(() => loadConfig(["--agent-cpu-limit=5m"], {})).toThrow("--agent-cpu-limit (5m) is below --agent-cpu-request (10m)");
});

/** A valid value other than the default, for every flag of the specification. */
const SAMPLE: Record<string, string> = {
  kubeconfig: "/k",
  namespace: "ns",
  "pod-name": "pod",
  "operator-namespace": "eck",
  "service-name": "svc",
  "intent-api-port": "1443",
  "webhook-port": "0",
  "intent-api-address": "127.0.0.1",
  "intent-api-url": "https://ctl.example:1",
  "max-streams-per-pod": "9",
  "health-port": "1080",
  "agent-image": "agent:dev",
  "agent-cpu-request": "20m",
  "agent-memory-request": "96Mi",
  "agent-cpu-limit": "1",
  "agent-memory-limit": "0.25Gi",
  "sidecar-mode": "classic",
  "webhook-failure-policy": "Ignore",
  "cert-validity": "48h",
  "cert-rotate-before": "12h",
  "agent-cert-validity": "1h",
  "ca-cert-validity": "100h",
  "ca-cert-rotate-before": "1h30m",
  "lease-name": "lease",
  "lease-duration": "15s",
  "lease-retry": "500ms",
  resync: "1m",
  "enforce-rbac-on-refs": "false",
  "token-audience": "aud",
  "es-health-gate": "false",
  "log-level": "debug",
};

test("CONTROLLER_FLAGS is what the controller reads: every flag changes the configuration, its variable the same way, and a specified default is the one applied", () => {
  expect(Object.keys(SAMPLE).sort()).toEqual(CONTROLLER_FLAGS.map((f) => f.name).sort());
  const env = { POD_NAME: "p0" };
  const base = loadConfig([], env);
  for (const f of CONTROLLER_FLAGS) {
    const viaFlag = loadConfig([`--${f.name}=${SAMPLE[f.name]}`], env);
    expect({ flag: f.name, changed: JSON.stringify(viaFlag) !== JSON.stringify(base) }).toEqual({ flag: f.name, changed: true });
    expect(loadConfig([], { ...env, [f.env!]: SAMPLE[f.name] })).toEqual(viaFlag);
    // The flag wins over its variable.
    expect(loadConfig([`--${f.name}=${SAMPLE[f.name]}`], { ...env, [f.env!]: "ignored" })).toEqual(viaFlag);
    if (f.default !== undefined) expect(loadConfig([`--${f.name}=${f.default}`], env)).toEqual(base);
  }
});
