// ECK's licensing state: the `elastic-licensing` ConfigMap in the operator
// namespace, key `eck_license_level`. Client authentication needs enterprise or
// a trial, as in ECK.
import type { V1ConfigMap } from "@kubernetes/client-node";

export const LICENSE_MESSAGE = "client certificate authentication requires an enterprise license";
const ENTERPRISE_LEVELS = new Set(["enterprise", "enterprise_trial", "enterprise-trial"]);

export interface LicenseState {
  enterprise: boolean;
  level: string;
}

export function licenseState(cm: V1ConfigMap | undefined): LicenseState {
  const level = cm?.data?.eck_license_level?.trim() || "basic";
  const expiry = cm?.data?.eck_license_expiry_date;
  const expired = expiry ? Date.parse(expiry) < Date.now() : false;
  return { enterprise: ENTERPRISE_LEVELS.has(level) && !expired, level: expired ? `${level} (expired ${expiry})` : level };
}
