// Which licence rule applies, and its verdict. Elasticsearch's own TLS client authentication needs
// no commercial licence; ECK's feature needs Enterprise or a trial. So ECK's rule (its
// `elastic-licensing` ConfigMap: Enterprise or a trial, not expired) applies where ECK is installed,
// and no licence rule where it is not. "ECK is installed" means: `--operator-namespace` is set and
// that namespace exists (kube/eck-licensing.ts observes both). A ConfigMap the controller may not
// read there (403: deploy/eck/ not applied) is "unknown", never "no ECK": enabling is refused until
// it can be read. The validation webhook and the reconciler both ask here, with the same
// observation, so the webhook never admits what the reconciler then blocks.
import type { V1ConfigMap } from "@kubernetes/client-node";
import { LICENSING_CONFIGMAP as CONFIGMAP } from "../names.ts";

/** ECK's validation message, verbatim. */
export const MSG_LICENSE = "client certificate authentication requires an enterprise license";

interface License {
  /** `eck_license_level` from ECK's `elastic-licensing` ConfigMap; undefined when absent. */
  level: string | undefined;
  /** `eck_license_expiry_date` (RFC 3339), when ECK wrote one. */
  expiryDate?: string;
}

/** What the controller saw of ECK's licensing (kube/eck-licensing.ts). */
export type LicensingObservation =
  /** `--operator-namespace` is empty: declared without ECK. */
  | { eck: "off" }
  /** The operator namespace does not exist: ECK is not installed. */
  | { eck: "absent"; namespace: string }
  /** The operator namespace exists and its ConfigMap could be read (undefined: there is none). */
  | { eck: "installed"; namespace: string; configMap: V1ConfigMap | undefined }
  /** Not (yet) known: the namespace not listed yet, or the ConfigMap unreadable (e.g. forbidden); `why` says which. */
  | { eck: "unknown"; namespace: string; why: string };

/** The rule applied, as the `LicenseValid` condition says it. */
export interface LicenseVerdict {
  allows: boolean;
  status: "True" | "False" | "Unknown";
  /** Enterprise / LicenseRequired: ECK's rule; NoLicenseRequired: no ECK; LicenseUnknown: cannot tell. */
  reason: "Enterprise" | "LicenseRequired" | "NoLicenseRequired" | "LicenseUnknown";
  /** Names the rule and what it saw. */
  message: string;
  /** When refused: what the webhook, the Event and a refusal say (ECK's message under ECK's rule). */
  refusal?: string;
}

function licenseFromConfigMap(cm: V1ConfigMap | undefined): License {
  const expiryDate = cm?.data?.eck_license_expiry_date;
  return { level: cm?.data?.eck_license_level, ...(expiryDate ? { expiryDate } : {}) };
}

/** ECK's rule: Enterprise, or a trial (both spellings ECK has written), and not past its expiry date. */
function eckRule(license: License, now: Date): { enterprise: boolean; level: string } {
  const level = license.level?.trim() || "basic";
  const expired = license.expiryDate ? Date.parse(license.expiryDate) < now.getTime() : false;
  const enterprise = ["enterprise", "enterprise_trial", "enterprise-trial"].includes(level.toLowerCase()) && !expired;
  return { enterprise, level: expired ? `${level} (expired ${license.expiryDate})` : level };
}

export function enterpriseFeaturesEnabled(license: License, now: Date = new Date()): boolean {
  return eckRule(license, now).enterprise;
}

export function licenseVerdict(o: LicensingObservation, now: Date = new Date()): LicenseVerdict {
  switch (o.eck) {
    case "off":
      return none("--operator-namespace is empty (no ECK): Elasticsearch's TLS client authentication needs no licence");
    case "absent":
      return none(`ECK is not installed (namespace ${o.namespace} does not exist): Elasticsearch's TLS client authentication needs no licence`);
    case "installed": {
      const { enterprise, level } = eckRule(licenseFromConfigMap(o.configMap), now);
      const rule = `ECK's licence rule, ConfigMap ${o.namespace}/${CONFIGMAP}${o.configMap ? "" : " (absent)"}`;
      return enterprise
        ? { allows: true, status: "True", reason: "Enterprise", message: `license level ${level} (${rule})` }
        : { allows: false, status: "False", reason: "LicenseRequired", message: `${MSG_LICENSE} (current level: ${level}; ${rule})`, refusal: MSG_LICENSE };
    }
    case "unknown": {
      const refusal = `cannot tell whether ECK's licence allows client certificate authentication: ${o.why}; with ECK, apply deploy/eck/ (read access to ${o.namespace}/${CONFIGMAP}); without ECK, set --operator-namespace to an empty value`;
      return { allows: false, status: "Unknown", reason: "LicenseUnknown", message: refusal, refusal };
    }
  }
}

function none(message: string): LicenseVerdict {
  return { allows: true, status: "True", reason: "NoLicenseRequired", message };
}
