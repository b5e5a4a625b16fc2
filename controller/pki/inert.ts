// An "inert" trust anchor: a self-signed certificate whose private key is thrown away the moment
// it is made, so it can verify nobody. Elasticsearch refuses an empty certificate_authorities
// file, so a pod of a cluster that no longer uses client authentication (configured with the
// bundle path, e.g. created while disabling) still needs a non-empty bundle to start: this one.
import { x509 } from "../../common/x509.ts";
import { sha256Hex } from "../../common/digest.ts";

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const INERT_COMMON_NAME = "es-mtls inert trust anchor (its key no longer exists)";

let made: Promise<{ pem: string; sha256: string }> | undefined;

/** One per controller process; the key is never exported and is garbage once this returns. */
export function inertBundle(): Promise<{ pem: string; sha256: string }> {
  made ??= (async () => {
    const keys = (await crypto.subtle.generateKey(ALG, false, ["sign", "verify"])) as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: "01",
      name: [{ CN: [INERT_COMMON_NAME] }],
      notBefore: new Date(Date.UTC(2020, 0, 1)),
      // Far away: an expiring anchor would make an idle pod unready for no reason.
      notAfter: new Date(Date.UTC(2099, 11, 31)),
      keys,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true)],
    });
    const pem = cert.toString("pem") + "\n";
    return { pem, sha256: sha256Hex(pem) };
  })();
  return made;
}
