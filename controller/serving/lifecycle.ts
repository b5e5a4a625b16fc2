// What every replica serves over TLS, kept current: the serving material (the leader makes it;
// everyone serves it once it exists, and picks up rotations), the webhooks and the intent API
// started on it, and (leader) the webhook configurations' CA bundles.
import type * as k8s from "@kubernetes/client-node";
import { syncCaBundles, webhookServiceName } from "../admission/configurations.ts";
import type { ControllerConfig } from "../config.ts";
import type { Caches } from "../kube/informers.ts";
import type { Writer } from "../kube/writer.ts";
import type { IntentApiServingDeps } from "./intent-api.ts";
import { serveIntentApi } from "./intent-api.ts";
import { ensureServingMaterial, readServingMaterial, type ServingMaterial } from "./material.ts";
import type { TlsServer } from "./tls-server.ts";
import { serveWebhooks, type WebhookServingDeps } from "./webhooks.ts";

interface ServingDeps extends Omit<IntentApiServingDeps, "config" | "caches">, Omit<WebhookServingDeps, "config" | "caches" | "servingCaPem"> {
  core: k8s.CoreV1Api;
  writer: Writer;
  config: ControllerConfig;
  caches: Caches;
}

interface Serving {
  /** Undefined until the first material is served (and for good with `--webhook-port=0`). */
  readonly webhooks: TlsServer | undefined;
  readonly intentApi: TlsServer | undefined;
  /** Reads (standby) or makes (leader) the material, starts what is not served yet, rotates what is. */
  refresh(isLeader: boolean): Promise<void>;
  stop(): Promise<void>;
}

export function servingLifecycle(d: ServingDeps): Serving {
  const { config } = d;
  let intentServer: TlsServer | undefined;
  let webhookServer: TlsServer | undefined;
  let serving: ServingMaterial | undefined;

  /** Serving material: the leader makes it; everyone serves it once it exists, and picks up rotations. */
  async function refreshOnce(isLeader: boolean) {
    const material = isLeader
      ? await ensureServingMaterial(d.core, d.writer, { namespace: config.namespace, serviceName: config.serviceName, extraServiceNames: [webhookServiceName(config.serviceName)], validityMs: config.certValidityMs, rotateBeforeMs: config.certRotateBeforeMs })
      : (await readServingMaterial(d.core, config.namespace))?.material;
    if (!material) return;
    // Webhooks first: they must not wait on the intent API's start (the JWKS issuer lookup).
    if (!webhookServer && config.webhookPort) webhookServer = serveWebhooks(material, { ...d, servingCaPem: () => serving?.caPem });
    if (!intentServer) {
      intentServer = await serveIntentApi(material, d);
    } else if (serving && serving.cert !== material.cert) {
      for (const s of [intentServer, webhookServer]) s?.updateTls({ cert: material.cert, key: material.key });
    }
    serving = material;
    // The kube-apiserver must trust what the webhooks serve (writes nothing when in sync).
    if (isLeader && config.webhookPort) await syncCaBundles(d.kc, material.caPem);
  }

  /**
   * One refresh at a time: the leadership callback and the 5 s timer may both ask at once, and two
   * concurrent first starts would both try to bind the intent API's port.
   */
  let chain: Promise<void> = Promise.resolve();
  return {
    get webhooks() {
      return webhookServer;
    },
    get intentApi() {
      return intentServer;
    },
    refresh(isLeader) {
      const run = chain.then(() => refreshOnce(isLeader));
      chain = run.catch(() => {});
      return run;
    },
    async stop() {
      await intentServer?.stop();
      await webhookServer?.stop();
    },
  };
}
