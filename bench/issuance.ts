// CSR verification + signing per second per core through the controller's real path
// (controller/intent-api/certificate-issuer.ts: csr-policy.ts checkCsr, then leaf.ts
// signClientCsr under a P-256 client CA), for P-256 and RSA-2048 CSR keys, next to
// `openssl speed -seconds 3 ecdsap256 rsa2048` run in the same script.
//
// One issuance = verify the CSR's signature (its key's algorithm) + sign the leaf with the
// cluster's CA (always ECDSA P-256). So openssl's equivalent rate for one issuance is
// 1 / (1/verify(CSR algorithm) + 1/sign(ECDSA P-256)).
// Rates are per CPU-second of this process (user+sys), i.e. per core, and also per wall second.
// Run: npx bun bench/issuance.ts [seconds per algorithm, default 3]
// Exits 1 only when a result is invalid (a CSR refused or a leaf that does not verify under the CA).
import { spawnSync } from "node:child_process";
import { x509 } from "../common/x509.ts";
import { createClientCa } from "../controller/pki/ca.ts";
import { createCertificateIssuer } from "../controller/intent-api/certificate-issuer.ts";
import { checkCsr } from "../controller/pki/csr-policy.ts";
import { signClientCsr } from "../controller/pki/leaf.ts";
import type { ManagedIdentity } from "../protocol/intent.ts";

const SECONDS = Number(process.argv[2] ?? 3);
const KEYS = 8; // distinct keys per algorithm (RSA key generation is slow); CSRs cycle over them

type Alg = "ECDSA-P256" | "RSA-2048";
const ALGS: Alg[] = ["ECDSA-P256", "RSA-2048"];

function opensslSpeed(): { ecdsaP256: { sign: number; verify: number }; rsa2048: { sign: number; verify: number }; version: string } {
  const version = spawnSync("openssl", ["version"], { encoding: "utf8" }).stdout.trim();
  const run = spawnSync("openssl", ["speed", "-seconds", "3", "ecdsap256", "rsa2048"], { encoding: "utf8", maxBuffer: 1 << 24 });
  if (run.status !== 0) throw new Error(`openssl speed failed: ${run.stderr}`);
  const rsa = /^rsa\s+2048 bits\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(run.stdout);
  const ec = /^\s*256 bits ecdsa \(nistp256\)\s+\S+\s+\S+\s+([\d.]+)\s+([\d.]+)/m.exec(run.stdout);
  if (!rsa || !ec) throw new Error(`could not read openssl speed output:\n${run.stdout}`);
  return { version, rsa2048: { sign: Number(rsa[1]), verify: Number(rsa[2]) }, ecdsaP256: { sign: Number(ec[1]), verify: Number(ec[2]) } };
}

async function csrsFor(alg: Alg, identity: ManagedIdentity): Promise<string[]> {
  const params = alg === "ECDSA-P256"
    ? { gen: { name: "ECDSA", namedCurve: "P-256" }, sign: { name: "ECDSA", hash: "SHA-256" } }
    : { gen: { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" }, sign: { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" } };
  const out: string[] = [];
  for (let i = 0; i < KEYS; i++) {
    const keys = (await crypto.subtle.generateKey(params.gen, true, ["sign", "verify"])) as CryptoKeyPair;
    const csr = await x509.Pkcs10CertificateRequestGenerator.create({
      name: [{ CN: [identity.subject.commonName] }, { OU: [identity.subject.organizationalUnit] }],
      keys,
      signingAlgorithm: params.sign,
      extensions: [new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])],
    });
    out.push(csr.toString("pem"));
  }
  return out;
}

const round = (n: number, d = 1) => Math.round(n * 10 ** d) / 10 ** d;

const openssl = opensslSpeed();
const ca = await createClientCa("bench");
const issue = createCertificateIssuer({ caFor: () => ca });
const pod = { namespace: "bench", name: "bench-es-default-0", uid: "00000000-0000-0000-0000-000000000000" };
const cluster = { namespace: "bench", name: "bench" };
const invalid: string[] = [];
const rows = [];

for (const alg of ALGS) {
  const identity: ManagedIdentity = { source: "managed", subject: { commonName: "bench-es-default-0", organizationalUnit: "bench" }, keyAlgorithm: alg, validitySeconds: 86_400, renewAtFraction: 2 / 3 };
  const csrs = await csrsFor(alg, identity);
  // Warm-up (JIT, lazy module paths), then check one result is a real leaf of this CA.
  for (let i = 0; i < 20; i++) await issue({ pod, cluster, identity, csrPem: csrs[i % csrs.length]! });
  const sample = await issue({ pod, cluster, identity, csrPem: csrs[0]! });
  if (!sample.ok) invalid.push(`${alg}: CSR refused: ${sample.reason}`);
  else if (!(await new x509.X509Certificate(sample.response.certificate).verify({ publicKey: ca.certificate.publicKey, signatureOnly: true }))) invalid.push(`${alg}: leaf does not verify under the CA`);

  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    const r = await issue({ pod, cluster, identity, csrPem: csrs[n % csrs.length]! });
    if (!r.ok) {
      invalid.push(`${alg}: CSR refused during the run: ${r.reason}`);
      break;
    }
    n++;
  }
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuS = (cpu.user + cpu.system) / 1e6;
  const verify = alg === "ECDSA-P256" ? openssl.ecdsaP256.verify : openssl.rsa2048.verify;
  const opensslPerIssuance = 1 / (1 / verify + 1 / openssl.ecdsaP256.sign);
  const perCore = n / cpuS;
  rows.push({
    csrKey: alg,
    caKey: "ECDSA-P256",
    issued: n,
    wallSeconds: round(wallS, 2),
    cpuSeconds: round(cpuS, 2),
    perSecondWall: round(n / wallS),
    perSecondPerCore: round(perCore),
    opensslEquivalentPerSecond: round(opensslPerIssuance),
    ratioToOpenssl: round(perCore / opensslPerIssuance, 3),
    target: ">= 0.25",
    met: perCore / opensslPerIssuance >= 0.25,
  });
}

// Where the time goes (P-256 CSR): each stage alone, microseconds per call. The raw WebCrypto
// operations are the floor; the rest is ASN.1 encoding and parsing in @peculiar/x509.
async function perCallUs(f: () => unknown, ms = 600): Promise<number> {
  for (let i = 0; i < 30; i++) await f();
  const t = performance.now();
  let n = 0;
  while (performance.now() - t < ms) {
    await f();
    n++;
  }
  return round(((performance.now() - t) * 1000) / n, 1);
}
const stageIdentity: ManagedIdentity = { source: "managed", subject: { commonName: "bench-es-default-0", organizationalUnit: "bench" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 86_400, renewAtFraction: 2 / 3 };
const [stageCsr] = await csrsFor("ECDSA-P256", stageIdentity);
const policy = await checkCsr(stageCsr!, stageIdentity);
if (!policy.ok) throw new Error(policy.reason);
const tbs = new Uint8Array(400);
const csrKey = await policy.csr.publicKey.export();
const tbsSignature = await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ca.privateKey, tbs);
const leaf = await signClientCsr({ ca, csr: policy.csr, subject: stageIdentity.subject, validityMs: 86_400_000 });
const stagesUs = {
  webcryptoSignP256: await perCallUs(() => crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, ca.privateKey, tbs)),
  webcryptoVerifyP256: await perCallUs(() => crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, csrKey, tbsSignature, tbs)),
  parseCsr: await perCallUs(() => new x509.Pkcs10CertificateRequest(stageCsr!)),
  checkCsrTotal: await perCallUs(() => checkCsr(stageCsr!, stageIdentity)),
  signClientCsrTotal: await perCallUs(() => signClientCsr({ ca, csr: policy.csr, subject: stageIdentity.subject, validityMs: 86_400_000 })),
  parseIssuedLeaf: await perCallUs(() => new x509.X509Certificate(leaf.rawData)),
};

const result = { bench: "issuance", date: new Date().toISOString(), runtime: `bun ${Bun.version}`, openssl, rows, stagesUs, invalid };
console.log(JSON.stringify(result, null, 2));
console.log(rows.map((r) => `${r.csrKey} CSR → P-256 leaf: ${r.perSecondPerCore}/s per core = ${Math.round(r.ratioToOpenssl * 100)} % of openssl's ${r.opensslEquivalentPerSecond}/s (verify+sign)`).join("; ") + (invalid.length ? ` — INVALID: ${invalid.join("; ")}` : ""));
process.exit(invalid.length ? 1 : 0);
