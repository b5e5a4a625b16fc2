// The pod's PKCS#10 certification request (RFC 2986), signed with its own key: the subject the
// intent asks for and the client leaf's extensions in an extensionRequest attribute.
import { encodePem } from "../../common/pem.ts";
import { explicit, oid, sequence, set, smallInteger } from "../../common/der/encode.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";
import { clientSubjectName } from "../../common/der/name.ts";
import { clientLeafExtensions } from "./client-leaf.ts";
import type { GeneratedKey } from "./key.ts";
import { signed } from "../../common/der/signature.ts";

const EXTENSION_REQUEST = "1.2.840.113549.1.9.14";

export async function createCsr(key: GeneratedKey, subject: ManagedIdentity["subject"]): Promise<string> {
  const spki = new Uint8Array(await crypto.subtle.exportKey("spki", key.keys.publicKey));
  const info = sequence(
    smallInteger(0),
    clientSubjectName(subject),
    spki,
    // attributes [0] IMPLICIT SET OF Attribute: the [0] tag replaces the SET's, so it is constructed like explicit().
    explicit(0, sequence(oid(EXTENSION_REQUEST), set(clientLeafExtensions()))),
  );
  return encodePem(await signed(info, key.keys.privateKey, key.algorithm), "CERTIFICATE REQUEST");
}
