// What every client certificate the agent asks for or makes carries, as DER: the extensions
// (clientAuth only, digitalSignature, not a CA), byte for byte as the agent wrote them with
// @peculiar/x509 before issue 21. The subject is common/der/name.ts's, shared with the controller.
import { bitString, boolean, octetString, oid, sequence, type Der } from "../../common/der/encode.ts";

export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
const EXTENSION_OID = { EXT_KEY_USAGE: "2.5.29.37", KEY_USAGE: "2.5.29.15", BASIC_CONSTRAINTS: "2.5.29.19" } as const;

const extension = (id: string, critical: boolean, value: Der) => sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

/** The Extensions SEQUENCE: EKU clientAuth (not critical), key usage digitalSignature and basic constraints cA=false (both critical). */
export function clientLeafExtensions(): Der {
  return sequence(
    extension(EXTENSION_OID.EXT_KEY_USAGE, false, sequence(oid(CLIENT_AUTH_OID))),
    // digitalSignature is bit 0: the first octet's top bit, the 7 bits after it unused.
    extension(EXTENSION_OID.KEY_USAGE, true, bitString(Uint8Array.of(0x80), 7)),
    extension(EXTENSION_OID.BASIC_CONSTRAINTS, true, sequence()),
  );
}
