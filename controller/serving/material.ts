// The controller's serving CA and certificate (intent API and webhooks), kept in
// one Secret of the controller's namespace so every replica serves the same
// certificate. The leader creates and rotates it; standbys only read it.
import * as k8s from "@kubernetes/client-node";
import { caFromSecretData, shouldRotate } from "../pki/ca.ts";
import { createServingCa, issueServingCertificate, serviceDnsNames, servingNeedsReissue, servingToSecretData } from "../pki/serving.ts";
import { x509 } from "../../common/x509.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../names.ts";
import type { Writer } from "../kube/writer.ts";
import { log } from "../log.ts";
import { isNotFound } from "../kube/api-error.ts";

const SERVING_SECRET = "es-mtls-controller-serving";

export interface ServingMaterial {
  caPem: string;
  cert: string;
  key: string;
  notAfter: Date;
}

function decode(secret: k8s.V1Secret): ServingMaterial | undefined {
  const d = secret.data ?? {};
  if (!d["ca.crt"] || !d["tls.crt"] || !d["tls.key"]) return undefined;
  const cert = atob(d["tls.crt"]);
  return { caPem: atob(d["ca.crt"]), cert, key: atob(d["tls.key"]), notAfter: new x509.X509Certificate(cert).notAfter };
}

export async function readServingMaterial(core: k8s.CoreV1Api, namespace: string): Promise<{ secret: k8s.V1Secret; material?: ServingMaterial } | undefined> {
  try {
    const secret = await core.readNamespacedSecret({ name: SERVING_SECRET, namespace });
    return { secret, material: decode(secret) };
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

/** Leader only: creates the serving CA and certificate, or reissues what is due. Returns the current material. */
export async function ensureServingMaterial(
  core: k8s.CoreV1Api,
  writer: Writer,
  o: { namespace: string; serviceName: string; extraServiceNames?: string[]; validityMs: number; rotateBeforeMs: number },
): Promise<ServingMaterial> {
  // extraServiceNames: the webhook Service (every replica) next to the intent API's (leader only).
  const dnsNames = [...new Set([o.serviceName, ...(o.extraServiceNames ?? [])].flatMap((n) => serviceDnsNames(n, o.namespace)))];
  const existing = await readServingMaterial(core, o.namespace);
  const now = new Date();
  let ca = undefined as Awaited<ReturnType<typeof caFromSecretData>> | undefined;
  if (existing?.secret.data?.["ca.crt"] && existing.secret.data["ca.key"]) {
    try {
      ca = await caFromSecretData({ "tls.crt": existing.secret.data["ca.crt"], "tls.key": existing.secret.data["ca.key"] });
      if (shouldRotate(now, ca.certificate.notAfter, o.rotateBeforeMs)) ca = undefined;
    } catch {
      ca = undefined;
    }
  }
  const caIsNew = !ca;
  ca ??= await createServingCa({ validityMs: o.validityMs * 5 });
  const decision = caIsNew ? { reissue: true as const, reason: "new serving CA" } : await servingNeedsReissue(existing?.secret.data, { ca, dnsNames, rotateBeforeMs: o.rotateBeforeMs });
  if (!decision.reissue && existing?.material) return existing.material;
  const pair = await issueServingCertificate({ ca, dnsNames, validityMs: o.validityMs });
  const leaf = await servingToSecretData(pair);
  const caData = await servingToSecretData(ca);
  const secret: k8s.V1Secret = {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: SERVING_SECRET, namespace: o.namespace, labels: { [MANAGED_BY_LABEL]: MANAGED_BY } },
    data: { "ca.crt": caData["tls.crt"], "ca.key": caData["tls.key"], "tls.crt": leaf["tls.crt"], "tls.key": leaf["tls.key"] },
  };
  if (existing) {
    secret.metadata!.resourceVersion = existing.secret.metadata?.resourceVersion;
    await writer.replaceSecret(secret);
  } else {
    await writer.createSecret(secret);
  }
  log.info("issued the controller's serving certificate", { why: decision.reissue ? decision.reason : "missing" });
  return decode(secret)!;
}
