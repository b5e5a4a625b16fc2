// Throwaway certificates for one test control plane: a CA, the apiserver's
// serving certificate, client certificates, and the service-account signing key.
import "reflect-metadata";
import * as x509 from "@peculiar/x509";

x509.cryptoProvider.set(globalThis.crypto);

const EC = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGN = { name: "ECDSA", hash: "SHA-256" } as const;
const DAY = 24 * 3600 * 1000;

export interface Pem {
  cert: string;
  key: string;
}

async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(EC, true, ["sign", "verify"])) as CryptoKeyPair;
}

export async function privateKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("pkcs8", key), "PRIVATE KEY");
}

async function publicKeyPem(key: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await crypto.subtle.exportKey("spki", key), "PUBLIC KEY");
}

function serial(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString("hex").replace(/^[89a-f]/, "1");
}

export class TestCA {
  private constructor(
    readonly cert: x509.X509Certificate,
    private readonly keys: CryptoKeyPair,
  ) {}

  static async create(name: string): Promise<TestCA> {
    const keys = await keyPair();
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 600_000),
      notAfter: new Date(Date.now() + 30 * DAY),
      keys,
      signingAlgorithm: SIGN,
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new TestCA(cert, keys);
  }

  get pem(): string {
    return this.cert.toString("pem");
  }

  async issue(opts: {
    subject: string;
    server?: { dns: string[]; ips: string[] };
    client?: boolean;
  }): Promise<Pem> {
    const keys = await keyPair();
    const usages: string[] = [];
    if (opts.server) usages.push(x509.ExtendedKeyUsage.serverAuth);
    if (opts.client) usages.push(x509.ExtendedKeyUsage.clientAuth);
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages, false),
      await x509.AuthorityKeyIdentifierExtension.create(this.keys.publicKey),
    ];
    if (opts.server) {
      extensions.push(
        new x509.SubjectAlternativeNameExtension([
          ...opts.server.dns.map((value) => ({ type: "dns" as const, value })),
          ...opts.server.ips.map((value) => ({ type: "ip" as const, value })),
        ]),
      );
    }
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: opts.subject,
      issuer: this.cert.subject,
      notBefore: new Date(Date.now() - 600_000),
      notAfter: new Date(Date.now() + 30 * DAY),
      signingKey: this.keys.privateKey,
      publicKey: keys.publicKey,
      signingAlgorithm: SIGN,
      extensions,
    });
    return { cert: cert.toString("pem"), key: await privateKeyPem(keys.privateKey) };
  }
}

/** The key pair kube-apiserver signs service-account tokens with. */
export async function serviceAccountSigningKey(): Promise<{ privatePem: string; publicPem: string }> {
  const keys = await keyPair();
  return { privatePem: await privateKeyPem(keys.privateKey), publicPem: await publicKeyPem(keys.publicKey) };
}
