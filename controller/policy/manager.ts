// Who implements client-certificate authentication for a cluster (DESIGN.md, "Where it runs").
// ECK stamps `common.k8s.elastic.co/controller-version` on what it manages. From 3.4 ECK does the
// feature itself (same Secrets, same mount paths): es-mtls must stand aside entirely, or the two
// would fight over `<es>-es-client-trust-bundle` and the pods. Before 3.4, ECK never presents a
// client certificate (its HTTP client, the readiness probe of ES < 8.2, the pre-stop hook, stack
// monitoring): `required` would lock ECK out of its own cluster, so it is refused.
import { ECK_CONTROLLER_VERSION_ANNOTATION } from "../names.ts";

/** The first ECK release that implements spec.http.tls.client.authentication itself. */
const ECK_FEATURE_VERSION = "3.4.0";

export type Manager =
  | { by: "none" }
  | { by: "eck"; version: string; implementsFeature: true }
  | { by: "eck"; version: string; implementsFeature: false; reason: string };

export function managerOf(es: { metadata?: { annotations?: Record<string, string> } }): Manager {
  const version = es.metadata?.annotations?.[ECK_CONTROLLER_VERSION_ANNOTATION]?.trim();
  if (!version) return { by: "none" };
  if (atLeast(version, ECK_FEATURE_VERSION)) return { by: "eck", version, implementsFeature: true };
  return {
    by: "eck",
    version,
    implementsFeature: false,
    reason:
      `managed by ECK ${version}, which never presents a client certificate to Elasticsearch: requiring one would lock ECK out ` +
      `(its HTTP client, the readiness probe of Elasticsearch < 8.2, the pre-stop hook, stack monitoring). ` +
      `Upgrade ECK to ${ECK_FEATURE_VERSION} or later, which implements client certificate authentication itself`,
  };
}

/** "3.4.0" ≤ "3.5.1", "3.10.0" > "3.9.9"; a version that does not parse counts as old (the safe side: refuse). */
export function atLeast(version: string, min: string): boolean {
  const parse = (v: string) => v.replace(/^v/, "").split(/[.+-]/).slice(0, 3).map((x) => Number.parseInt(x, 10));
  const a = parse(version);
  const b = parse(min);
  if (a.length < 2 || a.some((x) => Number.isNaN(x))) return false;
  for (let i = 0; i < 3; i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d > 0;
  }
  return true;
}
