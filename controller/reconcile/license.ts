// ECK's licensing state: the `elastic-licensing` ConfigMap in the operator
// namespace. The level check and ECK's message are the validation webhook's, so
// the reconciler (which also guards clusters the webhook never saw) says the same.
import type { V1ConfigMap } from "@kubernetes/client-node";
import { enterpriseFeaturesEnabled, MSG_LICENSE } from "../webhooks/validation.ts";

export { MSG_LICENSE as LICENSE_MESSAGE };

export interface LicenseState {
  enterprise: boolean;
  level: string;
}

export function licenseState(cm: V1ConfigMap | undefined): LicenseState {
  const level = cm?.data?.eck_license_level?.trim() || "basic";
  const expiry = cm?.data?.eck_license_expiry_date;
  const expired = expiry ? Date.parse(expiry) < Date.now() : false;
  return { enterprise: enterpriseFeaturesEnabled({ level }) && !expired, level: expired ? `${level} (expired ${expiry})` : level };
}
