// Intents as the controller sends them, for agent tests that publish through the fixture intent
// server (test/fixtures/intent-server.ts): an Elasticsearch pod's and a Kibana pod's, files in the
// test's scratch directory owned by the test's own user.
import type { Intent } from "../../protocol/intent.ts";
import { sha256Hex } from "../../common/digest.ts";

/** What an intent needs of a test's environment (test/support/agent-harness.ts's Env has it). */
export interface IntentEnv {
  outDir: string;
  server: { clientCa: { pem: string } };
}

export type PublishedIntent = Omit<Intent, "generation" | "type">;

const files = (env: IntentEnv): Intent["files"] => ({
  dir: env.outDir,
  bundle: "client-trust-bundle.crt",
  certificate: "tls.crt",
  key: "tls.key",
  mode: 0o440,
  uid: process.getuid!(),
  gid: process.getgid!(),
});

/** An Elasticsearch pod's intent (quickstart-es-default-0): the bundle (the fixture's client CA unless given) and a managed identity. */
export function esIntent(env: IntentEnv, over: Partial<Intent> = {}, bundlePem = env.server.clientCa.pem): PublishedIntent {
  return {
    pod: { namespace: "ns", name: "quickstart-es-default-0", uid: "pod-uid-1" },
    role: "elasticsearch",
    cluster: { namespace: "ns", name: "quickstart" },
    phase: "Enabled",
    enforcement: "required",
    trustBundle: { pem: bundlePem, sha256: sha256Hex(bundlePem) },
    identity: { source: "managed", subject: { commonName: "quickstart-es-default-0", organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3 },
    files: files(env),
    ...over,
  };
}

/** A Kibana pod's intent (quickstart-kb-0): a managed identity, no bundle. */
export function kibanaIntent(env: IntentEnv, over: Partial<Intent> = {}): PublishedIntent {
  return {
    pod: { namespace: "ns", name: "quickstart-kb-0", uid: "pod-uid-kb" },
    role: "kibana",
    cluster: { namespace: "ns", name: "quickstart" },
    phase: "Enabled",
    enforcement: "required",
    identity: { source: "managed", subject: { commonName: "quickstart-kb-0", organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 3600, renewAtFraction: 2 / 3 },
    files: files(env),
    ...over,
  };
}
