// Time and memory to build a client trust bundle from N client-certificate Secrets, next to
// a baseline in the same run: plain concatenation of the same PEM without any parsing.
// Run: npx bun bench/trust-bundle.ts [N ...]   (default 10 100 1000)
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../common/x509.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "../controller/pki/keys.ts";
import { createClientCa } from "../controller/pki/ca.ts";
import { buildTrustBundle } from "../controller/trust/bundle.ts";

const sizes = process.argv.slice(2).map(Number).filter((n) => n > 0);
const counts = sizes.length > 0 ? sizes : [10, 100, 1000];
const ROUNDS = 5;

async function makeSecrets(n: number): Promise<V1Secret[]> {
  const keys = await generateP256KeyPair(); // one key is enough: certificates differ by serial and CN
  const secrets: V1Secret[] = [];
  for (let i = 0; i < n; i++) {
    const cert = await x509.X509CertificateGenerator.createSelfSigned({ name: `CN=client-${i}`, keys, signingAlgorithm: ECDSA_SHA256 });
    secrets.push({ metadata: { namespace: "bench", name: `client-${String(i).padStart(5, "0")}` }, data: { "tls.crt": btoa(cert.toString("pem") + "\n") } });
  }
  return secrets;
}

function baseline(caPem: string, secrets: readonly V1Secret[]): string {
  return [caPem, ...secrets.map((s) => atob(s.data!["tls.crt"]!))].join("");
}

async function measure<T>(run: () => Promise<T> | T): Promise<{ msMedian: number; msMin: number; heapDeltaKiB: number; result: T }> {
  const times: number[] = [];
  let result!: T;
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  for (let r = 0; r < ROUNDS; r++) {
    const start = performance.now();
    result = await run();
    times.push(performance.now() - start);
    heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
  }
  times.sort((a, b) => a - b);
  return { msMedian: round(times[Math.floor(times.length / 2)]!), msMin: round(times[0]!), heapDeltaKiB: Math.round((heapPeak - heapBefore) / 1024), result };
}

const round = (n: number) => Math.round(n * 100) / 100;

const ca = await createClientCa("bench");
const caPem = ca.certificate.toString("pem") + "\n";
const rows = [];
for (const n of counts) {
  const secrets = await makeSecrets(n);
  const plain = await measure(() => baseline(caPem, secrets));
  const built = await measure(() => buildTrustBundle({ caCertificates: [{ label: "client CA", pem: caPem }], secrets }));
  rows.push({
    secrets: n,
    bundleBytes: built.result.pem.length,
    included: built.result.included.length,
    rejected: built.result.rejected.length,
    build: { msMedian: built.msMedian, msMin: built.msMin, heapDeltaKiB: built.heapDeltaKiB },
    baselineConcat: { msMedian: plain.msMedian, msMin: plain.msMin, heapDeltaKiB: plain.heapDeltaKiB },
    perSecretUs: round((built.msMedian * 1000) / n),
    slowdownVsBaseline: round(built.msMedian / Math.max(plain.msMedian, 0.001)),
  });
}
console.log(JSON.stringify({ runtime: `bun ${Bun.version}`, rounds: ROUNDS, rows }, null, 2));
