// A certificate for the pod's key signed by itself (RFC 5280 v3): presented by a pod whose cluster
// trusts nobody any more. Issuer and subject are the intent's subject; valid from ten minutes ago
// (clock skew) for the intent's lifetime.
import { explicit, sequence, smallInteger, time, unsignedInteger, type Der } from "../../common/der/encode.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { clientSubjectName } from "../../common/der/name.ts";
import { clientLeafExtensions } from "./client-leaf.ts";
import type { GeneratedKey } from "./key.ts";
import { signatureAlgorithm, signed } from "../../common/der/signature.ts";

/** The certificate's DER. */
export async function selfSign(key: GeneratedKey, subject: ManagedIdentity["subject"], validitySeconds: number, now = Date.now()): Promise<Der> {
  // 16 random octets, the top bit cleared so the serial is positive (RFC 5280 §4.1.2.2: ≤ 20 octets).
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0] = serial[0]! & 0x7f;
  const name = clientSubjectName(subject);
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serial),
    signatureAlgorithm(key.algorithm),
    name,
    sequence(time(new Date(now - 10 * 60_000)), time(new Date(now + validitySeconds * 1000))),
    name,
    new Uint8Array(await crypto.subtle.exportKey("spki", key.keys.publicKey)),
    explicit(3, clientLeafExtensions()),
  );
  return signed(tbs, key.keys.privateKey, key.algorithm);
}
