// The identities the load client presents: the controller's own (read from its Secret, as any
// holder of that Secret would use it) and a user's self-signed leaf, trusted through a labelled
// client-certificate Secret owned by the Elasticsearch (ECK's soft-owner labels plus a real
// ownerReference, which es-mtls verifies).
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
