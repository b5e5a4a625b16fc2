// The intent API (protocol/intent.ts, version 1) as a hono app: every route is scoped to the
// pod the caller's token is bound to, and every error is `{ error, reason }`.
import { Hono, type Context } from "hono";
import { bodyLimit } from "hono/body-limit";
import { stream } from "hono/streaming";
import type { StreamingApi } from "hono/utils/stream";
import {
  HEARTBEAT_INTERVAL_MS,
  MAX_BODY_BYTES,
  PATHS,
  type ApiError,
  type ApiErrorWord,
  type Intent,
  type ManagedIdentity,
  type PodRef,
  type StatusReport,
  type StreamLine,
} from "../../protocol/intent.ts";
import type { TokenVerifier } from "./token-verifier.ts";
import type { IntentStore } from "./intent-store.ts";
import type { CertificateIssuer } from "./certificate-issuer.ts";
import type { SigningAuthority } from "./signing-authority.ts";
import { parseStatusReport } from "./status-report.ts";
import { SigningLimit } from "./signing-limit.ts";
import type { ServerEnv } from "../serving/tls-server.ts";

interface IntentApiDependencies {
  verifier: TokenVerifier;
  intents: IntentStore;
  issueCertificate: CertificateIssuer;
  /** Whether the pod may be certified for its intent's cluster now (still its cluster, reference still authorized): signing-authority.ts. */
  mayCertify: SigningAuthority;
  onStatus: (pod: PodRef, report: StatusReport) => void | Promise<void>;
  heartbeatIntervalMs?: number;
  /** Open intent streams one pod UID may hold; the next is a 429 (an agent needs one). */
  maxStreamsPerPod?: number;
  /** Certificates one pod UID may have signed (a token bucket); past it a 429 rate_limited. */
  signingLimit?: SigningLimit;
}

const DEFAULT_MAX_STREAMS_PER_POD = 4;

// `holdOpen` comes from the server (serving/tls-server.ts); absent when the app runs without one (tests' app.request).
type Env = { Bindings: Partial<ServerEnv>; Variables: { pod: PodRef; expiresAt: Date } };
type ErrorStatus = 400 | 401 | 403 | 404 | 413 | 429 | 500 | 503;

function fail(c: Context, status: ErrorStatus, error: ApiErrorWord, reason: string) {
  return c.json<ApiError>({ error, reason }, status);
}

export function createIntentApp(deps: IntentApiDependencies): Hono<Env> {
  const app = new Hono<Env>();
  const heartbeatMs = deps.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS;
  const maxStreams = deps.maxStreamsPerPod ?? DEFAULT_MAX_STREAMS_PER_POD;
  /** Open streams by pod UID. */
  const openStreams = new Map<string, number>();
  const signing = deps.signingLimit ?? new SigningLimit();

  app.onError((_error, c) => fail(c, 500, "internal", "internal error in the intent API"));
  app.notFound((c) => fail(c, 404, "not_found", `no route ${c.req.method} ${c.req.path}`));

  app.use("*", async (c, next) => {
    const auth = await deps.verifier.authenticate(c.req.header("authorization"));
    if (!auth.ok) {
      // An unauthenticated caller gets no kept-alive connection to park.
      c.header("connection", "close");
      return fail(c, auth.status, auth.error, auth.reason);
    }
    c.set("pod", auth.pod);
    c.set("expiresAt", auth.expiresAt);
    await next();
  });

  // After authentication, so an anonymous caller cannot make the controller buffer a body.
  app.use(
    "*",
    bodyLimit({
      maxSize: MAX_BODY_BYTES,
      onError: (c) => fail(c, 413, "too_large", `request body is larger than ${MAX_BODY_BYTES} bytes`),
    }),
  );

  /** The pod's current intent, only if it was computed for this very pod (UID included). */
  const intentOf = (pod: PodRef): Intent | undefined => {
    const intent = deps.intents.get(pod.namespace, pod.name);
    return intent?.pod.uid === pod.uid ? intent : undefined;
  };
  const noIntent = (c: Context, pod: PodRef) => fail(c, 403, "forbidden", `no intent for pod ${pod.namespace}/${pod.name} (uid ${pod.uid})`);

  app.get(PATHS.intent, (c) => {
    const pod = c.get("pod");
    const afterParam = c.req.query("after") ?? "0";
    if (!/^\d{1,15}$/.test(afterParam)) return fail(c, 400, "bad_request", `query parameter after=${JSON.stringify(afterParam)} is not a non-negative integer`);
    if (!intentOf(pod)) return noIntent(c, pod);
    const open = openStreams.get(pod.uid) ?? 0;
    if (open >= maxStreams) {
      c.header("connection", "close");
      return fail(c, 429, "too_many_streams", `pod ${pod.namespace}/${pod.name} already holds ${open} intent streams (at most ${maxStreams})`);
    }
    openStreams.set(pod.uid, open + 1);
    // Verified and counted: only now may this connection outlive the idle timeout.
    c.env?.holdOpen?.();
    const expiresInMs = Math.min(c.get("expiresAt").getTime() - Date.now(), 2 ** 31 - 1);
    c.header("content-type", "application/x-ndjson");
    c.header("cache-control", "no-store");
    const release = () => {
      const left = (openStreams.get(pod.uid) ?? 1) - 1;
      if (left > 0) openStreams.set(pod.uid, left);
      else openStreams.delete(pod.uid);
    };
    return stream(c, async (out) => {
      try {
        await serveStream(out, pod, Number(afterParam), expiresInMs);
      } finally {
        release();
      }
    });
  });

  async function serveStream(out: StreamingApi, pod: PodRef, after: number, expiresInMs: number): Promise<void> {
    let lastSent = after;
    let finish: () => void = () => {};
    const finished = new Promise<void>((resolve) => (finish = resolve));
    const send = (line: StreamLine) => void out.writeln(JSON.stringify(line)).catch(finish);
    const sendIfNewer = (intent: Intent) => {
      if (intent.generation <= lastSent) return false;
      lastSent = intent.generation;
      send(intent);
      return true;
    };
    // Subscribe before reading the current intent so no change can fall between the two.
    const unsubscribe = deps.intents.subscribe(pod.namespace, pod.name, (event) => {
      if (event.type === "removed" || event.intent.pod.uid !== pod.uid) finish();
      else sendIfNewer(event.intent);
    });
    const heartbeat = setInterval(() => {
      if (!deps.verifier.isPodCurrent(pod)) finish();
      else send({ type: "heartbeat", at: new Date().toISOString() });
    }, heartbeatMs);
    // The stream ends with the token so the agent comes back with its rotated one.
    const expiry = setTimeout(finish, Math.max(0, expiresInMs));
    out.onAbort(finish);
    const current = intentOf(pod);
    if (!current) finish();
    else if (!sendIfNewer(current)) send({ type: "heartbeat", at: new Date().toISOString() });
    await finished;
    clearInterval(heartbeat);
    clearTimeout(expiry);
    unsubscribe();
  }

  app.post(PATHS.certificate, async (c) => {
    const pod = c.get("pod");
    const body = await readJson(c);
    if (body === undefined) return fail(c, 400, "bad_request", "request body is not JSON");
    const { generation, csr } = body as { generation?: unknown; csr?: unknown };
    if (!Number.isSafeInteger(generation) || typeof csr !== "string") {
      return fail(c, 400, "bad_request", 'body must be { "generation": integer, "csr": PEM string }');
    }
    const intent = intentOf(pod);
    if (!intent) return noIntent(c, pod);
    if ((generation as number) > intent.generation) {
      return fail(c, 400, "bad_request", `generation ${generation} is newer than the pod's intent (${intent.generation})`);
    }
    const allowance = signing.take(pod.uid);
    if (!allowance.ok) {
      c.header("retry-after", String(Math.ceil(allowance.retryAfterMs / 1000)));
      return fail(c, 429, "rate_limited", `pod ${pod.namespace}/${pod.name} asked for too many certificates; the next one in ${Math.ceil(allowance.retryAfterMs / 1000)} s`);
    }
    // The pod's managed identity, and an Elasticsearch pod's local probe identity: the CSR must match one.
    const identities = [intent.identity, intent.probe?.identity].filter((i): i is ManagedIdentity => i?.source === "managed");
    if (!identities.length) {
      return fail(c, 403, "forbidden", `the intent of pod ${pod.namespace}/${pod.name} has no managed identity to certify`);
    }
    // Only the intent's cluster's CA signs, and only while the pod still belongs to that cluster.
    const authority = await deps.mayCertify(pod, intent.cluster);
    if (!authority.ok) return fail(c, 403, "forbidden", authority.reason);
    let outcome = await deps.issueCertificate({ pod, cluster: intent.cluster, identity: identities[0]!, csrPem: csr });
    for (const other of identities.slice(1)) {
      if (outcome.ok) break;
      const second = await deps.issueCertificate({ pod, cluster: intent.cluster, identity: other, csrPem: csr });
      if (second.ok) outcome = second;
    }
    if (!outcome.ok) return fail(c, 400, "csr_refused", outcome.reason);
    return c.json(outcome.response, 200);
  });

  app.post(PATHS.status, async (c) => {
    const pod = c.get("pod");
    const body = await readJson(c);
    if (body === undefined) return fail(c, 400, "bad_request", "request body is not JSON");
    const parsed = parseStatusReport(body);
    if (!parsed.ok) return fail(c, 400, "bad_request", `invalid status report: ${parsed.reason}`);
    const intent = intentOf(pod);
    if (!intent) return noIntent(c, pod);
    if (parsed.report.generation > intent.generation) {
      return fail(c, 400, "bad_request", `reported generation ${parsed.report.generation} is newer than the pod's intent (${intent.generation})`);
    }
    await deps.onStatus(pod, parsed.report);
    return c.body(null, 204);
  });

  return app;
}

async function readJson(c: Context): Promise<unknown> {
  try {
    return await c.req.json();
  } catch {
    return undefined;
  }
}
