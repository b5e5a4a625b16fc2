// Controller flags: the defaults an operator relies on, and the short lifetime of agents' certificates (issue 9 item 7).
import { expect, test } from "bun:test";
import { loadConfig } from "../../controller/config.ts";
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
