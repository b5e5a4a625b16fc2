// The intent API over real HTTPS on Bun; tokens are minted with jose and verified against a
// JWKS served over HTTPS by a stand-in for the kube-apiserver's /openid/v1/jwks.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import type { Server } from "bun";
import { x509 } from "../../../common/x509.ts";
import { createClientCa, type CertificateAuthority } from "../../../controller/pki/ca.ts";
import { privateKeyToPem } from "../../../controller/pki/keys.ts";
import { createServingCa, issueServingCertificate } from "../../../controller/pki/serving.ts";
import { apiserverJwks, createTokenVerifier } from "../../../controller/intent-api/token-verifier.ts";
import { IntentStore } from "../../../controller/intent-api/intent-store.ts";
import { createCertificateIssuer } from "../../../controller/intent-api/certificate-issuer.ts";
import { createIntentApp } from "../../../controller/intent-api/app.ts";
import { SigningLimit } from "../../../controller/intent-api/signing-limit.ts";
import { serveTls, type TlsServer, type TlsMaterial } from "../../../controller/serving/tls-server.ts";
import { INTENT_API_AUDIENCE, MAX_BODY_BYTES, PATHS, type Intent, type PodRef, type StatusReport } from "../../../protocol/intent.ts";
import { makeCsr } from "../../support/pki-fixtures.ts";
import { lineReader } from "../../support/ndjson.ts";

const ISSUER = "https://kubernetes.default.svc.cluster.local";
const CONTROLLER_TOKEN = "controller-sa-token";
const HEARTBEAT_MS = 150;

const podA: PodRef = { namespace: "apps", name: "kb-0", uid: "uid-a" };
const podB: PodRef = { namespace: "elastic", name: "es-0", uid: "uid-b" };
const pods = new Map<string, string>([
  ["apps/kb-0", "uid-a"],
  ["elastic/es-0", "uid-b"],
  ["apps/kb-gone", "uid-gone"],
]);

function intentFor(pod: PodRef, generation: number, extra: Partial<Intent> = {}): Intent {
  return {
    type: "intent",
    generation,
    pod,
    role: pod === podA ? "kibana" : "elasticsearch",
    cluster: { namespace: "elastic", name: "quickstart" },
    phase: "Enabling",
    enforcement: "optional",
    files: { dir: "/var/run/es-mtls", bundle: "client-trust-bundle.crt", certificate: "tls.crt", key: "tls.key", mode: 0o440, uid: 1000, gid: 1000 },
    ...(pod === podA
      ? { identity: { source: "managed", subject: { commonName: "kb", organizationalUnit: "kb" }, keyAlgorithm: "ECDSA-P256", validitySeconds: 86400, renewAtFraction: 0.66 } }
      : { trustBundle: { pem: "-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n", sha256: "b".repeat(64) } }),
    ...extra,
  } as Intent;
}

let apiserverCa: CertificateAuthority;
let servingCa: CertificateAuthority;
let clientCa: CertificateAuthority;
let jwksServer: Server<undefined>;
let jwksRequests = 0;
let jwks: { keys: JWK[] } = { keys: [] };
let signingKey: CryptoKey;
let server: TlsServer;
let verifier: ReturnType<typeof createTokenVerifier>;
const intents = new IntentStore();
/** status.phase of the pods in the fake cache, by "namespace/name" (absent: Running). */
const podPhases = new Map<string, string>();
const statusReports: { pod: PodRef; report: StatusReport }[] = [];
/** What the signing authority answers (signing-authority.ts, tested on its own): set by a test, reset after it. */
let certifyRefusal: string | undefined;
const certifyAsked: string[] = [];
const mayCertify = async (pod: PodRef, cluster: { namespace: string; name: string }) => {
  certifyAsked.push(`${pod.namespace}/${pod.name} for ${cluster.namespace}/${cluster.name}`);
  return certifyRefusal ? { ok: false as const, reason: certifyRefusal } : { ok: true as const };
};
/** The CA of the intent's cluster only: a lookup by anything else signs nothing. */
const caOf = (cluster: { namespace: string; name: string }) => (cluster.namespace === "elastic" && cluster.name === "quickstart" ? clientCa : undefined);

async function material(ca: CertificateAuthority): Promise<TlsMaterial> {
  const issued = await issueServingCertificate({ ca, dnsNames: ["localhost"] });
  return { cert: issued.certificate.toString("pem"), key: await privateKeyToPem(issued.privateKey) };
}

async function mint(claims: { pod?: PodRef | null; aud?: string; exp?: number; iss?: string; key?: CryptoKey; kid?: string } = {}): Promise<string> {
  const pod = claims.pod === undefined ? podA : claims.pod;
  const k8s = pod ? { namespace: pod.namespace, pod: { name: pod.name, uid: pod.uid }, serviceaccount: { name: "default", uid: "sa" } } : { namespace: "apps" };
  return new SignJWT({ "kubernetes.io": k8s })
    .setProtectedHeader({ alg: "ES256", kid: claims.kid ?? "k1" })
    .setIssuer(claims.iss ?? ISSUER)
    .setAudience(claims.aud ?? INTENT_API_AUDIENCE)
    .setSubject(pod ? `system:serviceaccount:${pod.namespace}:default` : "system:serviceaccount:apps:default")
    .setIssuedAt()
    .setExpirationTime(claims.exp ?? Math.floor(Date.now() / 1000) + 600)
    .sign(claims.key ?? signingKey);
}

function call(path: string, init: RequestInit & { token?: string } = {}, ca: CertificateAuthority = servingCa): Promise<Response> {
  const headers = new Headers(init.headers);
  if (init.token) headers.set("authorization", `Bearer ${init.token}`);
  // keepalive false: every call makes its own TLS handshake, so certificate swaps are observable.
  return fetch(new URL(path, server.url), { ...init, headers, keepalive: false, tls: { ca: ca.certificate.toString("pem") } });
}

beforeAll(async () => {
  [apiserverCa, servingCa, clientCa] = await Promise.all([createServingCa({ commonName: "test-apiserver-ca" }), createServingCa(), createClientCa("quickstart")]);
  const pair = await generateKeyPair("ES256", { extractable: true });
  signingKey = pair.privateKey;
  jwks = { keys: [{ ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256", use: "sig" }] };
  const jwksTls = await material(apiserverCa);
  jwksServer = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: jwksTls,
    fetch(request) {
      jwksRequests++;
      if (request.headers.get("authorization") !== `Bearer ${CONTROLLER_TOKEN}`) return new Response("unauthorized", { status: 401 });
      return Response.json(jwks);
    },
  });
  verifier = createTokenVerifier({
    jwks: apiserverJwks({
      url: `https://localhost:${jwksServer.port}/openid/v1/jwks`,
      caPem: apiserverCa.certificate.toString("pem"),
      bearerToken: () => CONTROLLER_TOKEN,
      cooldownMs: 0,
    }),
    issuer: ISSUER,
    pods: (namespace, name) => {
      const uid = pods.get(`${namespace}/${name}`);
      const phase = podPhases.get(`${namespace}/${name}`);
      return uid ? { uid, ...(phase ? { phase } : {}) } : undefined;
    },
  });
  intents.set(intentFor(podA, 1));
  intents.set(intentFor(podB, 7));
  const app = createIntentApp({
    verifier,
    intents,
    issueCertificate: createCertificateIssuer({ caFor: caOf }),
    mayCertify,
    onStatus: (pod, report) => void statusReports.push({ pod, report }),
    heartbeatIntervalMs: HEARTBEAT_MS,
  });
  server = serveTls({ fetch: app.fetch, tls: await material(servingCa) });
});

afterAll(async () => {
  await server?.stop();
  await jwksServer?.stop(true);
});

async function expectError(response: Response, status: number, reason: RegExp) {
  expect(response.status).toBe(status);
  const body = (await response.json()) as { error: string; reason: string };
  expect(typeof body.error).toBe("string");
  expect(body.reason).toMatch(reason);
}

describe("authentication", () => {
  test("missing token → 401", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`), 401, /missing bearer token/);
  });
  test("wrong audience → 401", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ aud: "https://kubernetes.default.svc" }) }), 401, /audience is not "mtls\.es-mtls\.io\/intent-api"/);
  });
  test("expired → 401", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ exp: Math.floor(Date.now() / 1000) - 120 }) }), 401, /expired/);
  });
  test("wrong issuer → 401", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ iss: "https://evil" }) }), 401, /issuer/);
  });
  test("signed by a key the apiserver does not publish → 401", async () => {
    const rogue = await generateKeyPair("ES256");
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ key: rogue.privateKey }) }), 401, /signature does not verify/);
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ key: rogue.privateKey, kid: "unknown" }) }), 401, /key the kube-apiserver does not publish/);
  });
  test("token not bound to a pod → 401", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: null }) }), 401, /not bound to a pod/);
  });
  test("deleted pod → 403", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: { namespace: "apps", name: "kb-deleted", uid: "uid-x" } }) }), 403, /pod apps\/kb-deleted does not exist/);
  });
  test("a completed pod (Succeeded, Failed) → 403 naming the phase, for the intent and a CSR (issue 18 finding 5)", async () => {
    const key = `${podA.namespace}/${podA.name}`;
    try {
      podPhases.set(key, "Succeeded");
      await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint() }), 403, /pod apps\/kb-0 has completed \(phase Succeeded\)/);
      expect(verifier.isPodCurrent(podA)).toBe(false);
      podPhases.set(key, "Failed");
      const csr = await makeCsr({ subject: "CN=kb, OU=kb" });
      await expectError(await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ generation: 1, csr: csr.pem }) }), 403, /has completed \(phase Failed\)/);
    } finally {
      podPhases.delete(key);
    }
    expect(verifier.isPodCurrent(podA)).toBe(true);
    const ac = new AbortController();
    expect((await call(`${PATHS.intent}?after=0`, { token: await mint(), signal: ac.signal })).status).toBe(200);
    ac.abort();
  });
  test("pod re-created under the same name (UID mismatch) → 403", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: { ...podA, uid: "uid-b" } }) }), 403, /UID uid-b, the pod now has UID uid-a/);
  });
  test("existing pod without an intent → 403", async () => {
    await expectError(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: { namespace: "apps", name: "kb-gone", uid: "uid-gone" } }) }), 403, /no intent for pod apps\/kb-gone/);
  });
  test("the JWKS fetch sent the controller's own bearer token over HTTPS", () => {
    expect(jwksRequests).toBeGreaterThan(0);
  });
  test("a new apiserver signing key (unknown kid) is picked up by refetching the JWKS", async () => {
    const next = await generateKeyPair("ES256", { extractable: true });
    jwks = { keys: [...jwks.keys, { ...(await exportJWK(next.publicKey)), kid: "k2", alg: "ES256", use: "sig" }] };
    const before = jwksRequests;
    const response = await call(`${PATHS.intent}?after=1`, { token: await mint({ key: next.privateKey, kid: "k2" }) });
    expect(response.status).toBe(200);
    await response.body!.cancel();
    expect(jwksRequests).toBeGreaterThan(before);
  });
});

describe("intent stream", () => {
  test("a valid token gets its own pod's intent at once, then each change, and nothing for an unchanged set", async () => {
    const tokenA = await mint();
    const tokenB = await mint({ pod: podB });
    const streamA = lineReader(await call(`${PATHS.intent}?after=0`, { token: tokenA }));
    const streamB = lineReader(await call(`${PATHS.intent}?after=0`, { token: tokenB }));
    const firstA = (await streamA.nextIntent()) as Intent;
    const firstB = (await streamB.nextIntent()) as Intent;
    expect(firstA.pod).toEqual(podA);
    expect(firstA.generation).toBe(1);
    expect(firstB.pod).toEqual(podB);
    expect(firstB.generation).toBe(7);

    expect(intents.set(intentFor(podA, 2))).toBe(false); // same content: no push
    expect(intents.set(intentFor(podA, 3, { phase: "Enabled", enforcement: "required" }))).toBe(true);
    const pushed = (await streamA.nextIntent()) as Intent;
    expect(pushed).toMatchObject({ generation: 3, phase: "Enabled", pod: podA });
    // B saw only heartbeats meanwhile, never A's intent.
    const lineB = await streamB.next();
    expect(lineB).toMatchObject({ type: "heartbeat" });
    await streamA.cancel();
    await streamB.cancel();
  });

  test("after=current generation starts with a heartbeat, not a repeat of the intent", async () => {
    const stream = lineReader(await call(`${PATHS.intent}?after=7`, { token: await mint({ pod: podB }) }));
    expect(await stream.next()).toMatchObject({ type: "heartbeat", at: expect.any(String) });
    await stream.cancel();
  });

  test("bad ?after is a 400 with a reason", async () => {
    await expectError(await call(`${PATHS.intent}?after=-1`, { token: await mint() }), 400, /not a non-negative integer/);
  });

  test("the stream closes when the pod's intent is removed, and when the pod disappears", async () => {
    const podC: PodRef = { namespace: "apps", name: "kb-1", uid: "uid-c" };
    pods.set("apps/kb-1", "uid-c");
    intents.set(intentFor(podC, 1));
    const first = lineReader(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: podC }) }));
    expect(await first.nextIntent()).toMatchObject({ generation: 1 });
    intents.remove("apps", "kb-1");
    expect(await first.nextIntent()).toBe("closed");

    intents.set(intentFor(podC, 2));
    const second = lineReader(await call(`${PATHS.intent}?after=0`, { token: await mint({ pod: podC }) }));
    expect(await second.nextIntent()).toMatchObject({ generation: 2 });
    pods.delete("apps/kb-1");
    expect(await second.nextIntent()).toBe("closed");
    await Bun.sleep(50);
    expect(intents.subscriberCount("apps", "kb-1")).toBe(0);
  });

  test("a client that goes away leaves no subscriber behind", async () => {
    const stream = lineReader(await call(`${PATHS.intent}?after=0`, { token: await mint() }));
    await stream.nextIntent();
    expect(intents.subscriberCount("apps", "kb-0")).toBe(1);
    await stream.cancel();
    for (let i = 0; i < 40 && intents.subscriberCount("apps", "kb-0") > 0; i++) await Bun.sleep(25);
    expect(intents.subscriberCount("apps", "kb-0")).toBe(0);
  });
});

describe("certificate endpoint", () => {
  test("signing is rate-limited per pod UID (issue 9 item 7): past its burst a pod gets 429 rate_limited with Retry-After", async () => {
    const limited = createIntentApp({
      verifier,
      intents,
      issueCertificate: createCertificateIssuer({ caFor: caOf }),
      mayCertify,
      onStatus: () => {},
      signingLimit: new SigningLimit({ burst: 2, refillMs: 3_600_000 }),
    });
    const post = async () =>
      limited.request(PATHS.certificate, { method: "POST", headers: { authorization: `Bearer ${await mint()}` }, body: JSON.stringify({ generation: 1, csr: (await makeCsr({ subject: "CN=kb, OU=kb" })).pem }) });
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await post()).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await post();
    expect(refused.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(((await refused.json()) as { error: string }).error).toBe("rate_limited");
  });


  test("a CSR matching the intent is signed by the cluster's client CA", async () => {
    const { pem } = await makeCsr({ subject: "CN=kb, OU=kb" });
    const response = await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ generation: 3, csr: pem }) });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { certificate: string; chain: string; notBefore: string; notAfter: string };
    const leaf = new x509.X509Certificate(body.certificate);
    expect(leaf.subject).toBe("CN=kb, OU=kb");
    expect(await leaf.verify({ publicKey: clientCa.certificate.publicKey, signatureOnly: true })).toBe(true);
    expect(new x509.X509Certificate(body.chain).equal(clientCa.certificate)).toBe(true);
    expect(new Date(body.notAfter).getTime() - Date.now()).toBeLessThanOrEqual(86400 * 1000);
    expect(new Date(body.notBefore).getTime()).toBeLessThan(Date.now());
  });

  test("a pod the signing authority refuses (left its intent's cluster, reference no longer authorized) gets 403 forbidden with the reason, nothing signed (issue 18)", async () => {
    const { pem } = await makeCsr({ subject: "CN=kb, OU=kb" });
    certifyAsked.length = 0;
    certifyRefusal = "pod apps/kb-0 has an intent of cluster elastic/quickstart but belongs to prod/quickstart now";
    try {
      const response = await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ generation: 3, csr: pem }) });
      expect(response.status).toBe(403);
      expect(await response.json()).toEqual({ error: "forbidden", reason: certifyRefusal });
    } finally {
      certifyRefusal = undefined;
    }
    // Asked for the cluster the intent names.
    expect(certifyAsked).toEqual(["apps/kb-0 for elastic/quickstart"]);
  });

  test("a CSR with the wrong CN is refused with a 400 and the reason", async () => {
    const { pem } = await makeCsr({ subject: "CN=eck-internal, OU=kb" });
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ generation: 3, csr: pem }) }), 400, /CN is \["eck-internal"\], want exactly "kb"/);
  });

  test("a pod without a managed identity gets nothing signed", async () => {
    const { pem } = await makeCsr({ subject: "CN=kb, OU=kb" });
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint({ pod: podB }), body: JSON.stringify({ generation: 7, csr: pem }) }), 403, /no managed identity/);
  });

  test("an Elasticsearch pod's CSR is signed for its proof identity or its local probe identity (issue 8), and for nothing else", async () => {
    const managed = (commonName: string) => ({ source: "managed" as const, subject: { commonName, organizationalUnit: "quickstart" }, keyAlgorithm: "ECDSA-P256" as const, validitySeconds: 86400, renewAtFraction: 0.66 });
    intents.set(intentFor(podB, 8, { identity: managed("es-mtls-proof"), probe: { identity: managed("es-mtls-probe"), dir: "/usr/share/elasticsearch/config/es-mtls-probe", file: "probe.pem" } }));
    for (const cn of ["es-mtls-proof", "es-mtls-probe"]) {
      const response = await call(PATHS.certificate, { method: "POST", token: await mint({ pod: podB }), body: JSON.stringify({ generation: 8, csr: (await makeCsr({ subject: `CN=${cn}, OU=quickstart` })).pem }) });
      expect(response.status).toBe(200);
      expect(new x509.X509Certificate(((await response.json()) as { certificate: string }).certificate).subject).toBe(`CN=${cn}, OU=quickstart`);
    }
    const other = (await makeCsr({ subject: "CN=eck-internal, OU=quickstart" })).pem;
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint({ pod: podB }), body: JSON.stringify({ generation: 8, csr: other }) }), 400, /CN is \["eck-internal"\]/);
  });

  test("malformed body and future generation are 400s", async () => {
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint(), body: "{not json" }), 400, /not JSON/);
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ csr: 1 }) }), 400, /generation/);
    const { pem } = await makeCsr({});
    await expectError(await call(PATHS.certificate, { method: "POST", token: await mint(), body: JSON.stringify({ generation: 99, csr: pem }) }), 400, /newer than the pod's intent/);
  });
});

describe("status endpoint", () => {
  const report: StatusReport = {
    generation: 3,
    bundleSha256: "a".repeat(64),
    proof: { checkedAt: new Date().toISOString(), withCertificate: "accepted", withoutCertificate: "refused", detail: "ok" },
    ready: true,
    errors: [],
  };

  test("a valid report reaches the callback with the token's pod and answers 204", async () => {
    const response = await call(PATHS.status, { method: "POST", token: await mint(), body: JSON.stringify(report) });
    expect(response.status).toBe(204);
    expect(statusReports.at(-1)).toEqual({ pod: podA, report });
  });

  test("a malformed report is a 400 naming the field", async () => {
    const before = statusReports.length;
    const bad = { ...report, proof: { ...report.proof, withoutCertificate: "maybe" }, ready: "yes" };
    await expectError(await call(PATHS.status, { method: "POST", token: await mint(), body: JSON.stringify(bad) }), 400, /ready: must be a boolean; proof.withoutCertificate: must be one of/);
    expect(statusReports.length).toBe(before);
  });

  test("an oversized body is a 413", async () => {
    const big = JSON.stringify({ ...report, errors: [{ at: "x", what: "y", detail: "z".repeat(MAX_BODY_BYTES) }] });
    await expectError(await call(PATHS.status, { method: "POST", token: await mint(), body: big }), 413, /larger than 1048576 bytes/);
  });

  test("an unknown route is a JSON 404", async () => {
    await expectError(await call("/v2/nothing", { token: await mint() }), 404, /no route GET \/v2\/nothing/);
  });
});

describe("serving certificate rotation", () => {
  test("new connections get the new certificate while an open stream carries on", async () => {
    const open = lineReader(await call(`${PATHS.intent}?after=0`, { token: await mint() }));
    await open.nextIntent();
    const nextCa = await createServingCa({ commonName: "next-serving-ca" });
    server.updateTls(await material(nextCa));
    const viaNew = await call(`${PATHS.intent}?after=99`, { token: await mint() }, nextCa);
    expect(viaNew.status).toBe(200);
    await viaNew.body!.cancel();
    await expect(call(`${PATHS.intent}?after=99`, { token: await mint() }, servingCa)).rejects.toThrow();
    intents.set(intentFor(podA, 4, { phase: "Disabling" }));
    expect(await open.nextIntent()).toMatchObject({ generation: 4, phase: "Disabling" });
    await open.cancel();
  });
});
