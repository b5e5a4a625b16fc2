// The tenancy order of a cluster's trust sources, the order and the gate of a namespace boundary:
// the cluster's own namespace first (its Secrets, then the pinned Kibana certificates), then other
// namespaces' Secrets that are authorized (the owner's ServiceAccount may get the Elasticsearch),
// each namespace within its budget, so no namespace can crowd the cluster's own clients out of the
// bundle. Pure: reconcile/trust-bundle.ts reads the data and asks the authorizer in the order
// splitAtNamespace gives, and hands the answers to tenancyOrder.
import type { V1Secret } from "@kubernetes/client-node";
import type { ClusterRef } from "../../protocol/intent.ts";
import { formatSize } from "./limits.ts";
import { sortSecrets } from "./secret-order.ts";

/** A Secret as read on demand: the decoded size of a tls.crt over the limit, or the kept scan of one within it (its text's length). */
export type LoadedSecret = V1Secret & { tlsCrtBytes?: number; tlsCrtHeld?: { readonly length: number } };

interface NamespaceSplit {
  /** Selected Secrets of the cluster's own namespace: their data is read first. */
  own: V1Secret[];
  /** Pinned Kibana certificates of the cluster's own namespace. */
  ownPinned: V1Secret[];
  /** Every other namespace's sources, in the one Secret order; `pinned`: a Kibana's pinned certificate. */
  others: Array<{ secret: V1Secret; pinned: boolean }>;
}

export function splitAtNamespace(selected: V1Secret[], pinned: V1Secret[], namespace: string): NamespaceSplit {
  return {
    own: selected.filter((s) => s.metadata?.namespace === namespace),
    ownPinned: pinned.filter((s) => s.metadata?.namespace === namespace),
    others: sortSecrets([...selected, ...pinned].filter((s) => s.metadata?.namespace !== namespace)).map((secret) => ({ secret, pinned: pinned.includes(secret) })),
  };
}

/** What became of another namespace's source: refused by the authorizer (its reason), or its data (undefined: deleted since the cache saw it). */
export type ForeignSource = { secret: V1Secret; notAuthorized: string } | { secret: V1Secret; loaded: LoadedSecret | undefined };

/**
 * The sources in bundle order: `own` and `ownPinned` sorted, then the authorized `others` (in the
 * order given) while their namespace stays within `budgetBytes` of decoded tls.crt; the others refused, each with why.
 */
export function tenancyOrder(
  own: LoadedSecret[],
  ownPinned: V1Secret[],
  others: ForeignSource[],
  cluster: ClusterRef,
  budgetBytes: number,
): { ordered: V1Secret[]; refused: Array<{ secret: V1Secret; reason: string }> } {
  const refused: Array<{ secret: V1Secret; reason: string }> = [];
  const used = new Map<string, number>();
  const admitted: V1Secret[] = [];
  for (const source of others) {
    const { secret } = source;
    if ("notAuthorized" in source) {
      refused.push({ secret, reason: `a trust source in another namespace: ${source.notAuthorized}` });
      continue;
    }
    const loaded = source.loaded;
    if (!loaded) continue; // deleted since the cache saw it
    const namespace = secret.metadata!.namespace!;
    // A kept text's length as its base64's (padded) length counts it: 3 bytes per 4 characters.
    const size = loaded.tlsCrtBytes ?? (loaded.tlsCrtHeld ? 3 * Math.ceil(loaded.tlsCrtHeld.length / 3) : Math.floor(((loaded.data?.["tls.crt"] ?? "").length * 3) / 4));
    const total = (used.get(namespace) ?? 0) + size;
    if (total > budgetBytes) {
      refused.push({ secret, reason: `namespace ${namespace} is over its ${formatSize(budgetBytes)} share of the trust bundle of ${cluster.namespace}/${cluster.name}` });
      continue;
    }
    used.set(namespace, total);
    admitted.push(loaded);
  }
  return { ordered: [...sortSecrets(own), ...sortSecrets(ownPinned), ...admitted], refused };
}
