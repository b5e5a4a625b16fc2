// The identities the load client presents: the controller's own (read from its Secret, as any
// holder of that Secret would use it), Kibana's (what the serving Kibana pod loaded at start), and
// a user's self-signed leaf, trusted through a labelled client-certificate Secret owned by the
// Elasticsearch (ECK's soft-owner labels plus a real ownerReference, which es-mtls verifies).
import { readFileSync } from "node:fs";
import { createClientCertSecret } from "../../support/client-cert-secret.ts";
import { selfSignedClient } from "../../support/test-ca.ts";
import { ES_NAME, NS, type Lifecycle } from "../lifecycle/cluster.ts";
import type { ClientCert } from "./client.ts";

export const USER_SECRET = `${ES_NAME}-load-user-client-cert`;

/** Creates the user's labelled Secret (certificate only: the key stays with the user) and returns the key pair. */
export async function createUserIdentity(lc: Lifecycle, name = USER_SECRET, cn = "load-user"): Promise<ClientCert> {
  const leaf = await selfSignedClient({ cn });
  const es = await lc.elasticsearch();
  await createClientCertSecret(lc.core, {
    namespace: NS,
    name,
    es: ES_NAME,
    owner: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", name: ES_NAME, uid: es.metadata.uid! },
    certPem: leaf.certPem,
  });
  return { cert: leaf.certPem, key: leaf.key };
}

/**
 * Follows `<es>-es-internal-client-cert`: undefined until the controller created it; afterwards the
 * newest one read, kept after the Secret is deleted on disable (a client keeps what it loaded).
 */
export class SecretIdentity {
  current: ClientCert | undefined;
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly lc: Lifecycle, private readonly name: string) {}

  start(everyMs = 500): void {
    this.loop = (async () => {
      while (this.running) {
        const s = await this.lc.secret(this.name);
        const crt = s?.["tls.crt"];
        const key = s?.["tls.key"];
        // A new object only when the content changed: the client is rebuilt on identity change only.
        if (crt && key && (crt !== this.current?.cert || key !== this.current.key)) this.current = { cert: crt, key };
        await new Promise((r) => setTimeout(r, everyMs)); // re-read period of the Secret
      }
    })();
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

/** One Kibana pod's identity as its process loaded it: what it presents to Elasticsearch for its whole life. */
export interface KibanaLoaded {
  uid: string;
  pod: string;
  /** When the load first used it (the pod was seen Ready). */
  at: number;
  cert: ClientCert | null;
}

/**
 * Kibana's identity: the client certificate the serving Kibana pod presents. Kibana reads
 * ELASTICSEARCH_SSL_CERTIFICATE / _KEY once at start (its stand-in does too), so for each Kibana pod
 * the files named by its container's env are read once, when the pod is first seen Ready, through
 * the test node's view of the container's mounts, and kept for the pod's life. The newest Ready,
 * non-terminating pod is the one presenting (a Deployment's replacement takes over); none (the
 * only pod evicted, on SIGTERM Kibana stops, and the replacement is not Ready yet): Kibana sends
 * nothing (undefined); no env = not injected yet: Kibana presents no certificate (null).
 */
export class KibanaIdentity {
  current: ClientCert | null | undefined;
  /** Every Kibana pod's loaded identity, in the order they became the serving one. */
  readonly history: KibanaLoaded[] = [];
  private running = true;
  private loop: Promise<void> | undefined;

  constructor(private readonly lc: Lifecycle, private readonly selector: string) {}

  start(everyMs = 200): void {
    this.loop = (async () => {
      while (this.running) {
        await this.refresh().catch(() => {}); // an apiserver hiccup: the next round reads again
        await new Promise((r) => setTimeout(r, everyMs)); // re-list period of the Kibana pods
      }
    })();
  }

  private async refresh(): Promise<void> {
    const pods = (await this.lc.core.listNamespacedPod({ namespace: NS, labelSelector: this.selector })).items;
    const ready = pods
      .filter((p) => !p.metadata?.deletionTimestamp && p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True"))
      .sort((a, b) => Date.parse(String(b.metadata!.creationTimestamp)) - Date.parse(String(a.metadata!.creationTimestamp)));
    const pod = ready[0];
    // No Kibana serving (the only one evicted, its replacement not Ready yet): no Kibana request either.
    if (!pod) return void (this.current = undefined);
    const last = this.history.at(-1);
    if (last && last.uid === pod.metadata!.uid) return void (this.current = last.cert);
    const env = pod.spec!.containers.find((c) => c.name === "kibana")?.env ?? [];
    const certPath = env.find((e) => e.name === "ELASTICSEARCH_SSL_CERTIFICATE")?.value;
    const keyPath = env.find((e) => e.name === "ELASTICSEARCH_SSL_KEY")?.value;
    let cert: ClientCert | null = null;
    if (certPath && keyPath) {
      const local = this.lc.node?.pod(NS, pod.metadata!.name!);
      if (!local || local.pod().metadata?.uid !== pod.metadata!.uid) return; // not this node's current copy yet
      cert = { cert: readFileSync(local.hostPath("kibana", certPath), "utf8"), key: readFileSync(local.hostPath("kibana", keyPath), "utf8") };
    }
    this.history.push({ uid: pod.metadata!.uid!, pod: pod.metadata!.name!, at: Date.now(), cert });
    this.current = cert;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}
