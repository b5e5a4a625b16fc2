// Step: the cluster's client CAs (cluster-pki.ts), from its CA Secret in the controller's namespace
// (ca-secret.ts) or made there; the CA's expiry as a metric. Nothing in the workload namespace is read as a CA.
import { metrics } from "../metrics.ts";
import { findCaSecret } from "./ca-secret.ts";
import { ensureClientCas, type ClientCas } from "./cluster-pki.ts";
import type { ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function ensureClusterCas(c: ClusterView, d: Pick<ReconcilerDeps, "caches" | "writer" | "pki">): Promise<ClientCas> {
  const existing = await findCaSecret(c, d);
  const cas = await ensureClientCas(c.es, existing, d.writer, d.pki, new Date());
  metrics.set("es_mtls_controller_client_ca_expiry_timestamp_seconds", { cluster: c.key }, Math.floor(cas.current.certificate.notAfter.getTime() / 1000));
  return cas;
}
