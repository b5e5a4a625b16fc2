// The subject of every client certificate es-mtls asks for or issues: CN, then OU, one attribute
// per RDN, so a comma or plus in a CN cannot change the DN's meaning. The agent's CSR and
// self-signed certificate and the controller's client leaves encode it here, byte for byte as
// @peculiar/x509 wrote `[{ CN: [cn] }, { OU: [ou] }]` before issue 21.
import { directoryString, oid, sequence, set, type Der } from "./encode.ts";

export const NAME_OID = { CN: "2.5.4.3", OU: "2.5.4.11" } as const;

// Encoded once: the controller encodes a subject per issuance.
const CN = oid(NAME_OID.CN);
const OU = oid(NAME_OID.OU);

export function clientSubjectName(subject: { commonName: string; organizationalUnit: string }): Der {
  const rdn = (type: Der, value: string) => set(sequence(type, directoryString(value)));
  return sequence(rdn(CN, subject.commonName), rdn(OU, subject.organizationalUnit));
}
