// Which client CA signs during a CA rotation: the new CA only once every Elasticsearch pod loaded
// the bundle that trusts it; until then the outgoing CA (still valid, still trusted) signs.
import type { Condition } from "../resources.ts";
import { cond } from "../status/conditions.ts";

/**
 * `signedBefore`: the new CA already signed because every pod had loaded a bundle trusting it; a
 * later bundle (a labelled Secret added meanwhile) trusts it too, so it keeps signing while that
 * bundle travels, rather than handing back to the outgoing CA, whose leaves die with it.
 */
export function chooseSigner<CA>(current: CA, previous: CA | undefined, waitingForBundle: string[], signedBefore = false): { signer: CA; condition?: Condition } {
  if (!previous) return { signer: current };
  if (waitingForBundle.length && !signedBefore) {
    return {
      signer: previous,
      condition: cond("CARotated", "False", "WaitingForBundle", `the new client CA signs once every Elasticsearch pod loaded the bundle that trusts it; waiting for ${waitingForBundle.join(", ")}`),
    };
  }
  return {
    signer: current,
    condition: cond("CARotated", "True", "NewCASigning", "every Elasticsearch pod trusts the new client CA; it signs new certificates, the previous one stays trusted until it expires"),
  };
}
