// On-demand reads of Secrets the caches do not hold (a Kibana's clientCertificateSecretName: the
// controller does not watch every Secret in the cluster), and of the data of labelled Secrets,
// whose cache holds metadata only. The reconciler takes this as a function,
// so a unit test replaces it.
import type * as k8s from "@kubernetes/client-node";
import { isNotFound } from "./api-error.ts";
import { sha256Hex } from "../../common/digest.ts";
import { TRUST_BUNDLE_KEY } from "../names.ts";
import { withoutManagedFields } from "./cached-fields.ts";
import type { KeptSecret } from "../trust/target.ts";

// What WholeSecretKeeper hands out, as the drift check (trust/target.ts) reads it: one type, there.
export type { KeptSecret };

/** Undefined when the Secret does not exist; throws on any other failure. */
export type SecretReader = (namespace: string, name: string) => Promise<k8s.V1Secret | undefined>;

export function secretReader(core: k8s.CoreV1Api): SecretReader {
  return async (namespace, name) => {
    try {
      return await core.readNamespacedSecret({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}

/**
 * Where CertificateDataReader keeps the text of a tls.crt: the bundle's parse cache, which holds its
 * blocks' text anyway (issue 21, third pass: keeping the base64 as well was 6.8 KB per cluster).
 */
export interface TextKeeper<H> {
  /** Keeps `text` (decoded tls.crt); the handle stands for it. */
  keep(text: string): H;
  /** Whether `held` is still kept (a bounded cache may have let it go): if not, the Secret is read again. */
  holds(held: H): boolean;
  /** The Secret of `held` was deleted, unlabelled or replaced: what was kept of it can go. */
  drop(held: H): void;
}

/** What was kept of one labelled Secret's data, by resourceVersion. */
interface Kept<H> {
  resourceVersion: string;
  /** tls.crt within the limit, as kept by the TextKeeper; absent when the Secret has none. */
  held?: H;
  /** base64 tls.crt that does not decode (the bundle reports it); within the limit. */
  undecodable?: string;
  /** decoded size of a tls.crt over the limit (its data is not kept). */
  tooLargeBytes?: number;
}

/**
 * The data of labelled client-certificate Secrets, read on demand (their cache holds metadata only).
 * Only `tls.crt` is kept, by resourceVersion, and only within `maxSourceBytes`, in `texts` (the
 * parse cache: no second copy here); a larger one is remembered by its size, so memory is bounded
 * by the limit, not by what a tenant labels. A text the keeper let go is read again.
 */
export class CertificateDataReader<H> {
  private readonly kept = new Map<string, Kept<H>>();
  /** API reads made so far (tests count them). */
  reads = 0;

  constructor(
    private readonly maxSourceBytes: number,
    private readonly texts: TextKeeper<H>,
  ) {}

  /**
   * `meta` with `tlsCrtHeld` (the kept text), `data: { tls.crt }` for a tls.crt that is not base64,
   * `data: {}` without one, or `tlsCrtBytes` for one over the limit; undefined when it no longer exists.
   */
  async read(meta: k8s.V1Secret, readSecret: SecretReader): Promise<(k8s.V1Secret & { tlsCrtBytes?: number; tlsCrtHeld?: H }) | undefined> {
    const namespace = meta.metadata!.namespace!;
    const name = meta.metadata!.name!;
    const id = `${namespace}/${name}`;
    let kept = this.kept.get(id);
    if (!kept || kept.resourceVersion !== meta.metadata?.resourceVersion || (kept.held !== undefined && !this.texts.holds(kept.held))) {
      this.reads++;
      const full = await readSecret(namespace, name);
      const before = kept?.held;
      if (!full) {
        this.kept.delete(id);
        if (before !== undefined) this.texts.drop(before);
        return undefined;
      }
      kept = this.keep(full);
      this.kept.set(id, kept);
      // The same text kept again is the same handle: only a changed one is dropped.
      if (before !== undefined && before !== kept.held) this.texts.drop(before);
    }
    if (kept.tooLargeBytes !== undefined) return { ...meta, tlsCrtBytes: kept.tooLargeBytes };
    if (kept.held !== undefined) return { ...meta, tlsCrtHeld: kept.held };
    return { ...meta, data: kept.undecodable === undefined ? {} : { "tls.crt": kept.undecodable } };
  }

  private keep(full: k8s.V1Secret): Kept<H> {
    const resourceVersion = full.metadata?.resourceVersion ?? "";
    const crt = full.data?.["tls.crt"];
    if (crt === undefined) return { resourceVersion };
    const bytes = (crt.length * 3) / 4 - (crt.endsWith("==") ? 2 : crt.endsWith("=") ? 1 : 0);
    if (bytes > this.maxSourceBytes) return { resourceVersion, tooLargeBytes: bytes };
    let text: string;
    try {
      text = atob(crt);
    } catch {
      return { resourceVersion, undecodable: crt };
    }
    return { resourceVersion, held: this.texts.keep(text) };
  }

  /** Forgets one Secret (deleted or unlabelled). */
  forget(namespace: string, name: string): void {
    const id = `${namespace}/${name}`;
    const kept = this.kept.get(id);
    if (!kept) return;
    this.kept.delete(id);
    if (kept.held !== undefined) this.texts.drop(kept.held);
  }

  /** Forgets Secrets no longer in `live` (namespace/name), so deleted ones do not linger. */
  prune(live: Iterable<k8s.V1Secret>): void {
    const ids = new Set<string>();
    for (const s of live) ids.add(`${s.metadata?.namespace}/${s.metadata?.name}`);
    for (const [id, kept] of this.kept) {
      if (ids.has(id)) continue;
      this.kept.delete(id);
      if (kept.held !== undefined) this.texts.drop(kept.held);
    }
  }

  get size(): number {
    return this.kept.size;
  }
}


/**
 * Whole Secrets es-mtls wrote for a real cluster, whose cache holds metadata only (anyone may set
 * the managed-by label). The caller reads only Secrets that passed the ownership check; each is
 * kept by resourceVersion, so a resync of unchanged Secrets reads nothing, and dropped on delete.
 * The trust bundle's data is kept as a digest (issue 21, third pass: 7.5 KB of base64 per cluster
 * kept for a drift check alone, trust/target.ts): nothing reads it but to compare it with the bundle.
 */
export class WholeSecretKeeper {
  private readonly kept = new Map<string, KeptSecret>();
  /** API reads made so far (tests and the bench count them). */
  reads = 0;

  constructor(private readonly digestKeys: readonly string[] = [TRUST_BUNDLE_KEY]) {}

  /** The whole Secret behind `meta`, the values of `digestKeys` as digests; undefined when it no longer exists. */
  async read(meta: k8s.V1Secret, readSecret: SecretReader): Promise<KeptSecret | undefined> {
    const namespace = meta.metadata!.namespace!;
    const name = meta.metadata!.name!;
    const id = `${namespace}/${name}`;
    const kept = this.kept.get(id);
    if (kept && kept.metadata?.resourceVersion === meta.metadata?.resourceVersion) return kept;
    this.reads++;
    const read = await readSecret(namespace, name);
    // Kept for as long as the Secret lives: without managedFields, which nothing here reads.
    const full = read && this.digested(withoutManagedFields(read));
    if (full) this.kept.set(id, full);
    else this.kept.delete(id);
    return full;
  }

  private digested(secret: k8s.V1Secret): KeptSecret {
    if (!secret.data || !this.digestKeys.some((k) => secret.data![k] !== undefined)) return secret;
    const data: Record<string, string> = {};
    const dataSha256: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data)) {
      if (this.digestKeys.includes(k)) dataSha256[k] = sha256Hex(v);
      else data[k] = v;
    }
    return { ...secret, data, dataSha256 };
  }

  forget(namespace: string, name: string): void {
    this.kept.delete(`${namespace}/${name}`);
  }

  get size(): number {
    return this.kept.size;
  }
}
