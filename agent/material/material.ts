// What the agent publishes: the trust bundle and the pod's identity, each with the
// facts readiness and reports need (hashes, expiry). Plain data, no I/O.
import type { Certificate } from "./certificate.ts";

export interface BundleMaterial {
  pem: string;
  /** Of `pem`, what is (to be) on disk. */
  sha256: string;
  earliestNotAfter: Date;
  /** The intent's trustBundle.sha256 when expired entries were dropped from it (the disk's differs). */
  intentSha256?: string;
  /** Entries of the intent's bundle left out because they had expired. */
  dropped?: Array<{ block: number; subject: string; notAfter: Date }>;
}

export interface PodIdentity {
  certPem: string;
  keyPem: string;
  leaf: Certificate;
  sha256: string;
  /** Managed identities: when to ask for the next certificate. */
  renewAt?: Date;
  /** When this identity reached the disk (epoch ms); Kibana's proof compares it with the process start. */
  writtenAt: number;
}

/** What is published on disk right now (as read back or as last written). */
export interface Material {
  bundle?: BundleMaterial;
  identity?: PodIdentity;
}

export function earliestNotAfter(certs: Array<{ notAfter: Date }>): Date {
  return new Date(Math.min(...certs.map((c) => c.notAfter.getTime())));
}
