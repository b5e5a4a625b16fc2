// Objects of es-mtls's standalone CRDs must tell an ECK installed later to skip them:
// `eck.k8s.elastic.co/managed: "false"` (ECK 3.5: pkg/controller/common/unmanaged.go), or ECK turns
// each into a second cluster beside the one its user runs. deploy/standalone-crds/'s admission
// policy requires it on create; objects created before it (or with the policy not installed) are
// found here. Under ECK's CRDs nothing is asked: there it would stop ECK from creating a cluster a
// user meant for it.
import { ECK_MANAGED_ANNOTATION } from "../names.ts";

interface Annotated {
  metadata: { annotations?: Record<string, string> };
}

/** The objects that lack the annotation, when the installed CRD is es-mtls's standalone one. */
export function unmarkedStandaloneObjects<T extends Annotated>(objects: T[], standaloneCrd: boolean): T[] {
  if (!standaloneCrd) return [];
  return objects.filter((o) => o.metadata.annotations?.[ECK_MANAGED_ANNOTATION] !== "false");
}
