// Step: the cluster's client CAs (cluster-pki.ts), from its CA Secret in the controller's namespace
// or an earlier es-mtls's legacy one (ca-secret.ts), which is dropped once copied; the CA's expiry as a metric.
import { metrics } from "../metrics.ts";
import { dropLegacyCa, findCaSecrets } from "./ca-secret.ts";
import { ensureClientCas, type ClientCas } from "./cluster-pki.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function ensureClusterCas(c: ClusterView, d: Pick<ReconcilerDeps, "caches" | "writer" | "pki">): Promise<ClientCas> {
  const found = await findCaSecrets(c, d);
  const cas = await ensureClientCas(c.es, found.existing, d.writer, d.pki, new Date(), found.existing ? undefined : found.legacy?.data);
  await dropLegacyCa(c, found.legacy, d);
  metrics.set("es_mtls_controller_client_ca_expiry_timestamp_seconds", { cluster: c.key }, Math.floor(cas.current.certificate.notAfter.getTime() / 1000));
  return cas;
}
