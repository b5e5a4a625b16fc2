// Every replica serves the webhooks (the webhook Service selects them all) and answers from its own
// caches, which every replica runs: a standby decides a pod exactly as the leader would, so a leader
// change never blocks a pod creation. Only the intent API is the leader's alone.
import { createWebhookApp } from "../admission/app.ts";
import { clusterModeOf } from "../admission/cluster-mode.ts";
import type { ControllerConfig } from "../config.ts";
import type { Caches } from "../kube/informers.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";
import type { Writer } from "../kube/writer.ts";
import { log } from "../log.ts";
import type { ServingMaterial } from "./material.ts";
import { serveTls, type TlsServer } from "./tls-server.ts";

export interface WebhookServingDeps {
  config: Pick<ControllerConfig, "namespace" | "agentImage" | "agentResources" | "intentApiUrl" | "sidecarMode" | "logLevel" | "webhookFailurePolicy" | "webhookPort" | "intentApiAddress">;
  caches: Pick<Caches, "synced" | "elasticsearch" | "kibana" | "clientAuth" | "licensing">;
  writer: Pick<Writer, "fresh">;
  references: ReferenceAuthorizer;
  /** The serving CA of the latest refresh (injected into pods for agents to trust); undefined before the first. */
  servingCaPem: () => string | undefined;
}

/** Serves the pod-injection and validation webhooks on `config.webhookPort` with the serving material. */
export function serveWebhooks(material: ServingMaterial, d: WebhookServingDeps): TlsServer {
  const { config, caches } = d;
  const app = createWebhookApp({
    injection: () => ({
      controllerNamespace: config.namespace,
      agentImage: config.agentImage,
      resources: config.agentResources,
      controllerUrl: config.intentApiUrl,
      controllerCaPem: d.servingCaPem() ?? material.caPem,
      sidecarMode: config.sidecarMode,
      logLevel: config.logLevel,
    }),
    clusterMode: (pod) => {
      if (!caches.synced) throw new Error("caches not synced yet");
      return clusterModeOf(pod, {
        elasticsearch: caches.elasticsearch,
        kibana: caches.kibana,
        clientAuthentication: (namespace, name) => d.writer.fresh("ClientAuthentication", namespace, name, caches.clientAuth.get(name, namespace)),
        references: d.references,
      });
    },
    licensing: () => caches.licensing.observe(),
    failurePolicy: config.webhookFailurePolicy,
    onInjection: (pod, result) => {
      const fields = { pod: `${pod.namespace}/${pod.name}`, injected: result.patch.length > 0, skipped: result.skipped, refused: result.refused };
      // A warning is the pod author's mistake, admitted anyway: warn, so it is seen without debug logs.
      if (result.warnings?.length) log.warn("pod admission", { ...fields, warnings: result.warnings });
      else log.info("pod admission", fields);
    },
    onError: (what, error) => log.warn("webhook error", { what, error: String(error) }),
  });
  const server = serveTls({ fetch: app.fetch, tls: { cert: material.cert, key: material.key }, port: config.webhookPort, hostname: config.intentApiAddress });
  log.info("webhooks listening", { port: server.port });
  return server;
}
