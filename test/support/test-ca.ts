// The one certificate factory for tests: CAs (root or intermediate), leaves for
// servers and clients, self-signed pinned leaves. ECDSA P-256, made with @peculiar/x509.
import { x509 } from "../../common/x509.ts";

const EC = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
export const CLIENT_AUTH = "1.3.6.1.5.5.7.3.2";
export const SERVER_AUTH = "1.3.6.1.5.5.7.3.1";

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
}

export interface IssueOptions extends Validity {
  /** Full DN ("CN=x, OU=y"), or use cn/ou. */
  subject?: string;
  cn?: string;
  ou?: string;
  /** serverAuth; `true` adds SANs 127.0.0.1 and localhost. */
  server?: boolean | { dns: string[]; ips: string[] };
  /** clientAuth (the default when `server` is not set). */
  client?: boolean;
  /** Sign this key (CSR flow); else a fresh key is made and returned. */
  publicKey?: CryptoKey;
}

export interface IssuedCertificate {
  certificate: x509.X509Certificate;
  certPem: string;
  /** Absent when `publicKey` was given. */
  keyPem?: string;
  /** Aliases: `cert` and `key` as PEM strings. */
  cert: string;
  key: string;
}

export async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

export async function publicKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("spki", key), "PUBLIC KEY");
}

function serial(): string {
  return "01" + Buffer.from(crypto.getRandomValues(new Uint8Array(12))).toString("hex");
}

function subjectOf(o: { subject?: string; cn?: string; ou?: string }): string | x509.JsonName {
  if (o.subject) return o.subject;
  const name: x509.JsonName = [{ CN: [o.cn ?? "test"] }];
  if (o.ou !== undefined) name.push({ OU: [o.ou] });
  return name;
}

export class TestCA {
  private constructor(
    readonly cert: x509.X509Certificate,
    readonly keys: CryptoKeyPair,
  ) {}

  /** A self-signed root CA. */
  static async create(name: string, validity: Validity = {}): Promise<TestCA> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: [{ CN: [name] }],
      notBefore: validity.notBefore ?? new Date(Date.now() - 10 * MINUTE),
      notAfter: validity.notAfter ?? new Date(Date.now() + 30 * DAY),
      keys,
      signingAlgorithm: EC,
      extensions: await caExtensions(keys.publicKey),
    });
    return new TestCA(cert, keys);
  }

  get pem(): string {
    return this.cert.toString("pem") + "\n";
  }

  /** A CA signed by this one. */
  async intermediate(name: string, validity: Validity = {}): Promise<TestCA> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: [{ CN: [name] }],
      issuer: this.cert.subjectName,
      notBefore: validity.notBefore ?? new Date(Date.now() - 10 * MINUTE),
      notAfter: validity.notAfter ?? new Date(Date.now() + 30 * DAY),
      signingKey: this.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: EC,
      extensions: [...(await caExtensions(keys.publicKey)), await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey)],
    });
    return new TestCA(cert, keys);
  }

  async issue(o: IssueOptions): Promise<IssuedCertificate> {
    return issueCertificate(this, o);
  }
}

/** Issues a leaf from any CA given as its certificate and key pair (TestCA or a plain object). */
export async function issueCertificate(ca: { cert: x509.X509Certificate; keys: CryptoKeyPair }, o: IssueOptions): Promise<IssuedCertificate> {
  let keyPem: string | undefined;
  let publicKey = o.publicKey;
  if (!publicKey) {
    const keys = await keyPair();
    publicKey = keys.publicKey;
    keyPem = await privateKeyPem(keys.privateKey);
  }
  const usages: string[] = [];
  if (o.server) usages.push(SERVER_AUTH);
  if (o.client || !o.server) usages.push(CLIENT_AUTH);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
    new x509.ExtendedKeyUsageExtension(usages),
    await x509.AuthorityKeyIdentifierExtension.create(ca.keys.publicKey),
  ];
  if (o.server) {
    const san = o.server === true ? { dns: ["localhost"], ips: ["127.0.0.1"] } : o.server;
    extensions.push(new x509.SubjectAlternativeNameExtension([...san.ips.map((value) => ({ type: "ip" as const, value })), ...san.dns.map((value) => ({ type: "dns" as const, value }))]));
  }
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: subjectOf(o),
    issuer: ca.cert.subjectName,
    notBefore: o.notBefore ?? new Date(Date.now() - 10 * MINUTE),
    notAfter: o.notAfter ?? new Date(Date.now() + 30 * DAY),
    signingKey: ca.keys.privateKey,
    publicKey,
    signingAlgorithm: EC,
    extensions,
  });
  const certPem = certificate.toString("pem") + "\n";
  return { certificate, certPem, cert: certPem, key: keyPem ?? "", ...(keyPem ? { keyPem } : {}) };
}

/** A self-signed client leaf, as ECK pins them (not a CA). */
export async function selfSignedClient(o: { cn: string } & Validity): Promise<IssuedCertificate> {
  const keys = await keyPair();
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: [{ CN: [o.cn] }],
    notBefore: o.notBefore ?? new Date(Date.now() - 10 * MINUTE),
    notAfter: o.notAfter ?? new Date(Date.now() + 365 * DAY),
    keys,
    signingAlgorithm: EC,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([CLIENT_AUTH]),
    ],
  });
  const certPem = certificate.toString("pem") + "\n";
  const keyPem = await privateKeyPem(keys.privateKey);
  return { certificate, certPem, keyPem, cert: certPem, key: keyPem };
}

async function caExtensions(publicKey: CryptoKey): Promise<x509.Extension[]> {
  return [
    new x509.BasicConstraintsExtension(true, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    await x509.SubjectKeyIdentifierExtension.create(publicKey),
  ];
}
