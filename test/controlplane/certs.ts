// Throwaway certificates for one test control plane. The CA factory is test/support/test-ca.ts
// (re-exported here for existing imports); the service-account signing key lives here.
import { keyPair, privateKeyPem, publicKeyPem } from "../support/test-ca.ts";

export { TestCA, privateKeyPem } from "../support/test-ca.ts";

export interface Pem {
  cert: string;
  key: string;
}

/** The key pair kube-apiserver signs service-account tokens with. */
export async function serviceAccountSigningKey(): Promise<{ privatePem: string; publicPem: string }> {
  const keys = await keyPair();
  return { privatePem: await privateKeyPem(keys.privateKey), publicPem: await publicKeyPem(keys.publicKey) };
}
