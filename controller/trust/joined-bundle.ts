// The trust bundle as a cluster's intents carry it (issue 21, third pass): its PEM joined from the
// certificates' text when it is read, not kept joined per cluster.
import type { TrustBundle } from "../../protocol/intent.ts";
import type { TrustBundleResult } from "./bundle.ts";

/**
 * The bundle as a cluster's intents carry it until they are replaced (issue 21, third pass): its
 * PEM joined from its parts when it is read (an intent sent to an agent), not kept joined per
 * cluster next to the parse cache's text of every certificate (5.7 KB per cluster at 1,000). One
 * join serves every send until the next collection (a bundle change reaches all of a cluster's
 * streams at once), so a 900 KiB bundle is not joined per stream.
 */
export function joinedOnRead(bundle: Pick<TrustBundleResult, "pemParts" | "sha256">): TrustBundle {
  const { pemParts, sha256 } = bundle;
  let memo: WeakRef<{ pem: string }> | undefined;
  return {
    // An own enumerable getter: JSON.stringify and spreads read it like a value.
    get pem() {
      const hit = memo?.deref();
      if (hit) return hit.pem;
      const joined = { pem: pemParts.join("") };
      memo = new WeakRef(joined);
      return joined.pem;
    },
    sha256,
  };
}
