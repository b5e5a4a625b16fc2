// Which client CA signs during a CA rotation: the new CA only once every Elasticsearch pod loaded
// the bundle that trusts it; until then the outgoing CA (still valid, still trusted) signs.
import type { Condition } from "../kube/resources.ts";
import { cond } from "../status/conditions.ts";

export function chooseSigner<CA>(current: CA, previous: CA | undefined, waitingForBundle: string[]): { signer: CA; condition?: Condition } {
  if (!previous) return { signer: current };
  if (waitingForBundle.length) {
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
