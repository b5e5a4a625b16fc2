// The client leaf for an agent's CSR, encoded from a DER template and signed with node:crypto
// (issue 21: building it with @peculiar/x509 – create, serialise, sign, re-parse – was most of an
// issuance). What it says is leaf.ts's signClientCsr's, field for field: v3, 16 random octets of
// serial, the CA's subject as issuer, NotBefore back-dated, NotAfter capped at the CA's, the
// intent's subject, and BasicConstraints cA=false and key usage digitalSignature (both critical),
// EKU clientAuth, AKI = the CA's SKI, SKI = SHA-1 of the leaf's key (RFC 5280 §4.2.1.2 method 1).
// The parts that depend on the CA alone are encoded once per CA, and the CA's key is held as a
// node:crypto KeyObject: its synchronous sign costs ~2/3 of WebCrypto's async one in CPU, and
// writes the DER signature X.509 wants (issue 21's profile).
import { createHash, KeyObject, sign } from "node:crypto";
import { bitString, boolean, explicit, octetString, oid, sequence, smallInteger, time, tlv, unsignedInteger, type Der } from "../../common/der/encode.ts";
import { bytesOf, childrenOf, contentsOf, readTlv } from "../../common/der/decode.ts";
import { clientSubjectName } from "../../common/der/name.ts";
import { signatureAlgorithm } from "../../common/der/signature.ts";
import { encodePem } from "../../common/pem.ts";
import { x509 } from "../../common/x509.ts";
import type { CertificateAuthority } from "./ca.ts";
import { DEFAULT_VALIDITY_MS, NOT_BEFORE_BACKDATE_MS } from "./durations.ts";
import { PkiMaterialError } from "../errors.ts";

const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
const VERSION_3 = explicit(0, smallInteger(2));
const ECDSA_WITH_SHA256 = signatureAlgorithm("ECDSA-P256");
const SUBJECT_KEY_IDENTIFIER = oid("2.5.29.14"); // encoded once: it is in every leaf

interface CaTemplate {
  signingKey: KeyObject;
  issuer: Uint8Array;
  /** The extensions every leaf of this CA carries, in leaf.ts's order up to and including the AKI. */
  sharedExtensions: Der[];
  notAfterMs: number;
  chainPem: string;
}

const templates = new WeakMap<CertificateAuthority, CaTemplate>();

const extension = (id: Der, critical: boolean, value: Uint8Array) => sequence(id, ...(critical ? [boolean(true)] : []), octetString(value));

function templateOf(ca: CertificateAuthority): CaTemplate {
  const raw = new Uint8Array(ca.certificate.rawData);
  // Certificate → tbsCertificate → [0] version, serial, signature, issuer, validity, subject.
  const outer = readTlv(raw, 0);
  const tbs = outer && childrenOf(raw, outer)?.[0];
  const subject = tbs && childrenOf(raw, tbs)?.[5];
  if (!subject || subject.tag !== 0x30) throw new PkiMaterialError("client CA certificate: no subject where X.509 puts it");
  const caKeyId = ca.certificate.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const keyId = caKeyId ? Uint8Array.from(caKeyId.match(/../g) ?? [], (h) => parseInt(h, 16)) : subjectKeyId(new Uint8Array(ca.certificate.publicKey.rawData));
  return {
    // The CA's keys are generated and imported extractable (keys.ts), which KeyObject.from wants.
    signingKey: KeyObject.from(ca.privateKey),
    issuer: bytesOf(raw, subject),
    sharedExtensions: [
      extension(oid("2.5.29.19"), true, sequence()),
      // digitalSignature is bit 0: the first octet's top bit, the 7 bits after it unused.
      extension(oid("2.5.29.15"), true, bitString(Uint8Array.of(0x80), 7)),
      extension(oid("2.5.29.37"), false, sequence(oid(CLIENT_AUTH))),
      // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT OCTET STRING }
      extension(oid("2.5.29.35"), false, sequence(tlv(0x80, keyId))),
    ],
    notAfterMs: ca.certificate.notAfter.getTime(),
    chainPem: ca.certificate.toString("pem") + "\n",
  };
}

/**
 * SHA-1 of the subjectPublicKey BIT STRING's value (its unused-bits octet excluded); node:crypto's
 * synchronous hash, as common/digest.ts, because WebCrypto's async digest cost more than the hash.
 */
function subjectKeyId(spki: Uint8Array): Uint8Array {
  const outer = readTlv(spki, 0);
  const bits = outer && childrenOf(spki, outer)?.[1];
  if (!bits || bits.tag !== 0x03) throw new PkiMaterialError("public key is not a SubjectPublicKeyInfo");
  return new Uint8Array(createHash("sha1").update(contentsOf(spki, bits).subarray(1)).digest());
}

interface ClientLeafRequest {
  ca: CertificateAuthority;
  /** The CSR's SubjectPublicKeyInfo, certified byte for byte. */
  spki: Uint8Array;
  subject: { commonName: string; organizationalUnit: string };
  validityMs?: number;
  now?: Date;
}

interface IssuedClientLeaf {
  certificatePem: string;
  /** The CA's certificate, PEM, newline-terminated as the intent API sends it. */
  chainPem: string;
  /** As encoded: whole seconds. */
  notBefore: Date;
  notAfter: Date;
}

export async function issueClientLeafFromTemplate(request: ClientLeafRequest): Promise<IssuedClientLeaf> {
  let t = templates.get(request.ca);
  if (!t) templates.set(request.ca, (t = templateOf(request.ca)));
  const nowMs = (request.now ?? new Date()).getTime();
  const seconds = (ms: number) => new Date(Math.floor(ms / 1000) * 1000);
  const notBefore = seconds(nowMs - NOT_BEFORE_BACKDATE_MS);
  const notAfter = seconds(Math.min(nowMs + (request.validityMs ?? DEFAULT_VALIDITY_MS), t.notAfterMs));
  // 16 random octets, made a positive INTEGER as @peculiar/x509 does (a 0x00 octet before a set top bit).
  const serial = crypto.getRandomValues(new Uint8Array(16));
  const tbs = sequence(
    VERSION_3,
    unsignedInteger(serial),
    ECDSA_WITH_SHA256,
    t.issuer,
    sequence(time(notBefore), time(notAfter)),
    clientSubjectName(request.subject),
    request.spki,
    explicit(3, sequence(...t.sharedExtensions, extension(SUBJECT_KEY_IDENTIFIER, false, octetString(subjectKeyId(request.spki))))),
  );
  // ECDSA P-256 with SHA-256; node:crypto writes the signature as X.509's SEQUENCE { r, s }.
  const certificate = sequence(tbs, ECDSA_WITH_SHA256, bitString(sign("sha256", tbs, t.signingKey)));
  return { certificatePem: encodePem(certificate, "CERTIFICATE") + "\n", chainPem: t.chainPem, notBefore, notAfter };
}
