// The trust bundle's limits, in one place: the pipeline enforces them, the refusal
// messages quote them, and the README cites them from here.

export interface BundleLimits {
  /** Largest tls.crt (decoded) read from one Secret or CA source. */
  maxSourceBytes: number;
  /** Most PEM blocks read from one source; later blocks are left out. */
  maxBlocksPerSource: number;
  /** Largest bundle PEM; it has to fit in a Secret (1 MiB) and in an intent under MAX_BODY_BYTES. */
  maxBundleBytes: number;
}

export const TRUST_BUNDLE_LIMITS: Readonly<BundleLimits> = Object.freeze({
  maxSourceBytes: 64 * 1024,
  maxBlocksPerSource: 16,
  maxBundleBytes: 900 * 1024,
});

/** "64 KiB", "70.3 KiB", "900 bytes": sizes as the refusal messages state them. */
export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} bytes`;
  const kib = bytes / 1024;
  return Number.isInteger(kib) ? `${kib} KiB` : `${kib.toFixed(1)} KiB`;
}
