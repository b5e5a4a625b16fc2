// Time and memory to build a client trust bundle from N client-certificate Secrets, next to
// a baseline in the same run: plain concatenation of the same PEM without any parsing.
// "first" is a build with an empty parse cache (every certificate parsed: a controller's first
// reconcile); "warm" rebuilds from unchanged Secrets (a resync: hashing + validity checks only);
// "oneChanged" rebuilds after one Secret's certificate changed (the common reconcile).
// Run: npx bun bench/trust-bundle.ts [N ...]   (default 10 100 1000)
import type { V1Secret } from "@kubernetes/client-node";
import { x509 } from "../common/x509.ts";
import { ECDSA_SHA256, generateP256KeyPair } from "../controller/pki/keys.ts";
import { createClientCa } from "../controller/pki/ca.ts";
import { buildTrustBundle, trustParseCache } from "../controller/trust/bundle.ts";

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

async function measure<T>(run: () => Promise<T> | T, before?: () => void): Promise<{ msMedian: number; msMin: number; heapDeltaKiB: number; result: T }> {
  const times: number[] = [];
  let result!: T;
  Bun.gc(true);
  const heapBefore = process.memoryUsage().heapUsed;
  let heapPeak = heapBefore;
  for (let r = 0; r < ROUNDS; r++) {
    before?.();
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
const caCertificates = [{ label: "client CA", pem: caPem }];
const rows = [];
let invalid = false;
for (const n of counts) {
  const secrets = await makeSecrets(n);
  const plain = await measure(() => baseline(caPem, secrets));
  const first = await measure(() => buildTrustBundle({ caCertificates, secrets }), () => trustParseCache.clear());
  trustParseCache.clear();
  await buildTrustBundle({ caCertificates, secrets });
  const parsesBeforeWarm = trustParseCache.stats().blockParses;
  const warm = await measure(() => buildTrustBundle({ caCertificates, secrets }));
  const warmParses = trustParseCache.stats().blockParses - parsesBeforeWarm;
  // One Secret gets a new certificate each round (a fresh one, so each round parses exactly one).
  let round_ = 0;
  const changedSets = await Promise.all(Array.from({ length: ROUNDS }, async () => {
    const [fresh] = await makeSecrets(1);
    return secrets.map((s, i) => (i === 0 ? { ...s, data: fresh!.data } : s));
  }));
  const oneChanged = await measure(() => buildTrustBundle({ caCertificates, secrets: changedSets[round_++ % ROUNDS]! }));
  if (first.result.included.length !== n + 1 || warm.result.sha256 !== first.result.sha256 || warmParses !== 0) invalid = true;
  rows.push({
    secrets: n,
    bundleBytes: first.result.pem.length,
    included: first.result.included.length,
    rejected: first.result.rejected.length,
    firstBuild: { msMedian: first.msMedian, msMin: first.msMin, heapDeltaKiB: first.heapDeltaKiB },
    warmBuild: { msMedian: warm.msMedian, msMin: warm.msMin, heapDeltaKiB: warm.heapDeltaKiB, certificatesParsed: warmParses },
    oneChangedBuild: { msMedian: oneChanged.msMedian, msMin: oneChanged.msMin },
    baselineConcat: { msMedian: plain.msMedian, msMin: plain.msMin, heapDeltaKiB: plain.heapDeltaKiB },
    warmPerSecretUs: round((warm.msMedian * 1000) / n),
    firstVsBaseline: round(first.msMedian / Math.max(plain.msMedian, 0.001)),
    warmVsBaseline: round(warm.msMedian / Math.max(plain.msMedian, 0.001)),
    warmSpeedupVsFirst: round(first.msMedian / Math.max(warm.msMedian, 0.001)),
  });
}
console.log(JSON.stringify({ bench: "trust-bundle", date: new Date().toISOString(), runtime: `bun ${Bun.version}`, rounds: ROUNDS, cache: trustParseCache.stats(), rows }, null, 2));
console.log(rows.map((r) => `${r.secrets} Secrets: first ${r.firstBuild.msMedian} ms, warm ${r.warmBuild.msMedian} ms, one changed ${r.oneChangedBuild.msMedian} ms (concat ${r.baselineConcat.msMedian} ms)`).join("; ") + (invalid ? " — INVALID: a warm build differed or re-parsed" : ""));
process.exit(invalid ? 1 : 0);
