// ECK's licensing state (the `elastic-licensing` ConfigMap in the operator namespace) and the one
// license rule: Enterprise or a trial, and not expired. The validation webhook and the reconciler
// both ask here, so the webhook never admits what the reconciler then blocks.
import type { V1ConfigMap } from "@kubernetes/client-node";

export interface License {
  /** `eck_license_level` from ECK's `elastic-licensing` ConfigMap; undefined when absent. */
  level: string | undefined;
  /** `eck_license_expiry_date` (RFC 3339), when ECK wrote one. */
  expiryDate?: string;
}

export interface LicenseState {
  enterprise: boolean;
  /** The level as users should read it, e.g. "basic" or "enterprise (expired 2024-01-01T00:00:00Z)". */
  level: string;
}

export function licenseFromConfigMap(cm: V1ConfigMap | undefined): License {
  const expiryDate = cm?.data?.eck_license_expiry_date;
  return { level: cm?.data?.eck_license_level, ...(expiryDate ? { expiryDate } : {}) };
}

/** Enterprise, or a trial (both spellings ECK has written), and not past its expiry date. */
export function licenseState(license: License, now: Date = new Date()): LicenseState {
  const level = license.level?.trim() || "basic";
  const expired = license.expiryDate ? Date.parse(license.expiryDate) < now.getTime() : false;
  const enterprise = ["enterprise", "enterprise_trial", "enterprise-trial"].includes(level.toLowerCase()) && !expired;
  return { enterprise, level: expired ? `${level} (expired ${license.expiryDate})` : level };
}

export function enterpriseFeaturesEnabled(license: License, now: Date = new Date()): boolean {
  return licenseState(license, now).enterprise;
}
