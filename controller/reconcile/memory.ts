// What the reconciler keeps in memory per cluster between reconciles: the CA that signs its agents'
// CSRs, whether a rotated CA already signed, the restarts under way and the generation last
// published. Dropped (forget) when the cluster is gone or no longer active.
import type { CertificateAuthority } from "../pki/ca.ts";
import { Restarts } from "./restart.ts";
import type { Published } from "./generation.ts";

export class ClusterMemory {
  /** The CA that signs agent CSRs of each cluster, between reconciles. */
  readonly signers = new Map<string, CertificateAuthority>();
  /** Per cluster, the serial of a rotated CA that already signed (gate/signer.ts `signedBefore`); a restart re-checks the bundle. */
  readonly newCaSigns = new Map<string, string>();
  readonly restarts = new Restarts();
  /** Per cluster, the generation (and its content hash) last handed to its agents; its status may not say so yet. */
  readonly published = new Map<string, Published>();

  /** Drops what is kept in memory for a cluster that is gone or no longer active. */
  forget(key: string): void {
    this.signers.delete(key);
    this.newCaSigns.delete(key);
    this.restarts.forget(key);
    this.published.delete(key);
  }
}
