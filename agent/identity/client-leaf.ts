// What every client certificate the agent asks for or makes carries, as DER: the subject (CN, then
// OU, one attribute per RDN, so a comma or plus in a CN cannot change the DN's meaning) and the
// extensions (clientAuth only, digitalSignature, not a CA), byte for byte as the agent wrote them
// with @peculiar/x509 before issue 21.
import { bitString, boolean, directoryString, octetString, oid, sequence, set, type Der } from "../../common/der/encode.ts";
import type { ManagedIdentity } from "../../protocol/intent.ts";

export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";
export const OID = { CN: "2.5.4.3", OU: "2.5.4.11", EXT_KEY_USAGE: "2.5.29.37", KEY_USAGE: "2.5.29.15", BASIC_CONSTRAINTS: "2.5.29.19" } as const;

export function subjectName(subject: ManagedIdentity["subject"]): Der {
  const rdn = (type: string, value: string) => set(sequence(oid(type), directoryString(value)));
  return sequence(rdn(OID.CN, subject.commonName), rdn(OID.OU, subject.organizationalUnit));
}

const extension = (id: string, critical: boolean, value: Der) => sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

/** The Extensions SEQUENCE: EKU clientAuth (not critical), key usage digitalSignature and basic constraints cA=false (both critical). */
export function clientLeafExtensions(): Der {
  return sequence(
    extension(OID.EXT_KEY_USAGE, false, sequence(oid(CLIENT_AUTH_OID))),
    // digitalSignature is bit 0: the first octet's top bit, the 7 bits after it unused.
    extension(OID.KEY_USAGE, true, bitString(Uint8Array.of(0x80), 7)),
    extension(OID.BASIC_CONSTRAINTS, true, sequence()),
  );
}
