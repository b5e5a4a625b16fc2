// Reads an Elasticsearch cluster's health (`GET /_cluster/health`) before the controller evicts
// one of its pods. It connects as a client of the cluster: the controller's own client certificate
// (`<es>-es-internal-client-cert`, presented once the cluster requires one), the `elastic` user
// (ECK's `<es>-es-elastic-user`) and the cluster's HTTP CA (ECK's `<es>-es-http-certs-public`,
// `ca.crt`). It reaches the Ready Elasticsearch pods by IP on 9200, one after the other, so no
// cluster DNS or Service is needed; ECK's HTTP certificate names Services, not pod IPs, so the
// chain is verified against the CA and the host name is not. A cluster not run by ECK (the Helm
// charts: `<cluster>-<nodeGroup>-credentials` with username/password, `<…>-certs` with ca.crt) names
// its own Secrets with two annotations on the Elasticsearch resource. The reconciler takes this as
// a function (deps.ts), so a unit test replaces it.
import * as https from "node:https";
import type { V1Pod } from "@kubernetes/client-node";
import type { SecretReader } from "./secret-reader.ts";
import { eckElasticUserSecretName, eckHttpCaSecretName, internalClientCertSecretName } from "../names.ts";
import type { HealthAnswer, HealthStatus } from "../gate/cluster-health.ts";

/** The cluster, and where its credentials and HTTP CA are when not at ECK's names. */
export interface HealthCluster {
  namespace: string;
  name: string;
  credentialsSecret?: string | undefined;
  httpCaSecret?: string | undefined;
}
export type ClusterHealthReader = (cluster: HealthCluster, pods: V1Pod[]) => Promise<HealthAnswer>;

/** The cluster's user and password: ECK's `elastic` key, else `username`/`password` (the Helm chart's credentials Secret). */
function credentials(data: Record<string, string> | undefined): { user: string; password: string } | undefined {
  const elastic = secretText(data, "elastic");
  if (elastic) return { user: "elastic", password: elastic };
  const password = secretText(data, "password");
  return password ? { user: secretText(data, "username") ?? "elastic", password } : undefined;
}

const ES_HTTP_PORT = 9200;
const TIMEOUT_MS = 3000;
/** Pods asked per read: one answer is enough, and a dead cluster must not hold a queue worker for long. */
const MAX_PODS_ASKED = 3;

const secretText = (data: Record<string, string> | undefined, key: string) => (data?.[key] ? Buffer.from(data[key]!, "base64").toString("utf8") : undefined);
const isReady = (p: V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/** The pods worth asking, in a stable order: Ready, with an IP, not terminating. */
export function healthTargets(pods: V1Pod[]): V1Pod[] {
  return pods.filter((p) => isReady(p) && p.status?.podIP && !p.metadata?.deletionTimestamp).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

export function clusterHealthReader(readSecret: SecretReader, o: { port?: number; timeoutMs?: number } = {}): ClusterHealthReader {
  return async (cluster, pods) => {
    const userSecret = cluster.credentialsSecret ?? eckElasticUserSecretName(cluster.name);
    const caSecret = cluster.httpCaSecret ?? eckHttpCaSecretName(cluster.name);
    const [client, user, http] = await Promise.all([
      readSecret(cluster.namespace, internalClientCertSecretName(cluster.name)),
      readSecret(cluster.namespace, userSecret),
      readSecret(cluster.namespace, caSecret),
    ]);
    const login = credentials(user?.data);
    const ca = secretText(http?.data, "ca.crt");
    if (!login) return { status: "unreachable", reason: `Secret ${cluster.namespace}/${userSecret} has no key "elastic" nor "password"` };
    if (!ca) return { status: "unreachable", reason: `Secret ${cluster.namespace}/${caSecret} has no key "ca.crt"` };
    // Absent before enabling and after disabling: the cluster does not ask for one then.
    const cert = secretText(client?.data, "tls.crt");
    const key = secretText(client?.data, "tls.key");
    const targets = healthTargets(pods).slice(0, MAX_PODS_ASKED);
    if (!targets.length) return { status: "unreachable", reason: "no Elasticsearch pod is Ready" };
    const failures: string[] = [];
    for (const pod of targets) {
      try {
        const status = await getHealth(pod.status!.podIP!, o.port ?? ES_HTTP_PORT, { ca, cert, key, auth: `${login.user}:${login.password}` }, o.timeoutMs ?? TIMEOUT_MS);
        return { status, pod: pod.metadata!.name! };
      } catch (e) {
        failures.push(`${pod.metadata!.name}: ${(e as Error).message}`);
      }
    }
    return { status: "unreachable", reason: failures.join("; ") };
  };
}

function getHealth(ip: string, port: number, tls: { ca: string; cert?: string | undefined; key?: string | undefined; auth: string }, timeoutMs: number): Promise<HealthStatus> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: ip,
        port,
        path: "/_cluster/health",
        method: "GET",
        ca: tls.ca,
        ...(tls.cert && tls.key ? { cert: tls.cert, key: tls.key } : {}),
        checkServerIdentity: () => undefined,
        headers: { authorization: `Basic ${Buffer.from(tls.auth).toString("base64")}`, accept: "application/json" },
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (c: string) => (body += c));
        res.on("end", () => {
          if (res.statusCode !== 200) return reject(new Error(`HTTP ${res.statusCode}`));
          try {
            const status = (JSON.parse(body) as { status?: unknown }).status;
            if (status === "green" || status === "yellow" || status === "red") resolve(status);
            else reject(new Error(`no health status in the answer`));
          } catch {
            reject(new Error("the answer is not JSON"));
          }
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
    req.end();
  });
}
