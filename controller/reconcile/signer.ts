// Step: the CA that signs from now on (gate/signer.ts), remembered for the agents' CSRs, and the
// controller's own certificate issued by it.
import type { Condition } from "../resources.ts";
import { internalClientCertSecretName } from "../names.ts";
import { bundleReloadedInMs, waitingForBundle } from "../gate/proofs.ts";
import { chooseSigner } from "../gate/signer.ts";
import { ensureInternalCertificate, type ClientCas } from "./cluster-pki.ts";
import type { ClusterMemory } from "./memory.ts";
import { reportOf, type ClusterView } from "./view.ts";
import type { ReconcilerDeps } from "./deps.ts";

export async function ensureSigner(
  c: ClusterView,
  cas: ClientCas,
  bundleSha256: string,
  conditions: Condition[],
  memory: ClusterMemory,
  d: Pick<ReconcilerDeps, "reports" | "writer" | "pki">,
): Promise<{ waiting: string[]; internalNotAfter: Date; reloadedInMs?: number }> {
  const esPods = c.esPods.map((p) => ({ name: p.pod.metadata!.name!, report: reportOf(d.reports, p), bundleSince: d.reports.bundleSince(p.pod.metadata!.uid!) }));
  const waiting = waitingForBundle(esPods, bundleSha256);
  // No report may come when the last pod's ES has re-read the bundle: look again then.
  const reloadedInMs = bundleReloadedInMs(esPods, bundleSha256);
  const serial = cas.current.certificate.serialNumber;
  const signing = chooseSigner(cas.current, cas.previous, waiting, memory.newCaSigns.get(c.key) === serial);
  if (cas.previous && signing.signer === cas.current) memory.newCaSigns.set(c.key, serial);
  memory.signers.set(c.key, signing.signer);
  const internalNotAfter = await ensureInternalCertificate(c.es, c.managedSecret(internalClientCertSecretName(c.name)), signing.signer, d.writer, d.pki);
  if (signing.condition) conditions.push(signing.condition);
  return { waiting, internalNotAfter, ...(reloadedInMs !== undefined ? { reloadedInMs } : {}) };
}
