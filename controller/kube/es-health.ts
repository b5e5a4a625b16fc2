// Reads an Elasticsearch cluster's health (`GET /_cluster/health`) before the controller evicts
// one of its pods. It connects as a client of the cluster: the controller's own client certificate
// (`<es>-es-internal-client-cert`, presented once the cluster requires one), the `elastic` user
// (ECK's `<es>-es-elastic-user`) and the cluster's HTTP CA (ECK's `<es>-es-http-certs-public`,
// `ca.crt`). A cluster not run by ECK (the Helm charts: `<cluster>-<nodeGroup>-credentials` with
// username/password, `<…>-certs` with ca.crt) names its own Secrets with two annotations on the
// Elasticsearch resource. Whom it asks and with which Secrets is gate/health-targets.ts's decision
// (issue 18 finding 4): only Ready pods of the cluster's own StatefulSets (read here, by the name in
// each pod's controller ownerReference), only annotated Secrets those StatefulSets' pod templates use.
// Pods are reached by IP on 9200, one after the other (no cluster DNS or Service needed); the chain
// is verified against the CA and the certificate must name one of the cluster's HTTP names. The
// reconciler takes this as a function (deps.ts), so a unit test replaces it.
import * as https from "node:https";
import * as tls from "node:tls";
import type * as k8s from "@kubernetes/client-node";
import type { SecretReader } from "./secret-reader.ts";
import { isNotFound } from "./api-error.ts";
import { internalClientCertSecretName } from "../names.ts";
import type { HealthAnswer, HealthStatus } from "../gate/cluster-health.ts";
import type { HealthCluster, HealthPlan } from "../gate/health-targets.ts";

/** gate/health-targets.ts's decision, passed in (kube/ imports only types from pure folders): assemble.ts wires it. */
interface HealthPlanner {
  workloadNames(pods: k8s.V1Pod[]): string[];
  plan(cluster: HealthCluster, pods: k8s.V1Pod[], sets: ReadonlyMap<string, k8s.V1StatefulSet>): HealthPlan;
}
export type ClusterHealthReader = (cluster: HealthCluster, pods: k8s.V1Pod[]) => Promise<HealthAnswer>;
/** A StatefulSet of the namespace by name; undefined when there is none. */
export type StatefulSetReader = (namespace: string, name: string) => Promise<k8s.V1StatefulSet | undefined>;

export function statefulSetReader(apps: k8s.AppsV1Api): StatefulSetReader {
  return async (namespace, name) => {
    try {
      return await apps.readNamespacedStatefulSet({ name, namespace });
    } catch (e) {
      if (isNotFound(e)) return undefined;
      throw e;
    }
  };
}

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
const isReady = (p: k8s.V1Pod) => p.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true;

/** The pods worth asking, in a stable order: Ready, with an IP, not terminating. */
export function healthTargets(pods: k8s.V1Pod[]): k8s.V1Pod[] {
  return pods.filter((p) => isReady(p) && p.status?.podIP && !p.metadata?.deletionTimestamp).sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
}

export function clusterHealthReader(readSecret: SecretReader, readStatefulSet: StatefulSetReader, planner: HealthPlanner, o: { port?: number; timeoutMs?: number } = {}): ClusterHealthReader {
  return async (cluster, pods) => {
    const candidates = healthTargets(pods);
    if (!candidates.length) return { status: "unreachable", reason: "no Elasticsearch pod is Ready" };
    const sets = new Map<string, k8s.V1StatefulSet>();
    for (const name of planner.workloadNames(candidates)) {
      const sts = await readStatefulSet(cluster.namespace, name);
      if (sts) sets.set(name, sts);
    }
    const plan = planner.plan(cluster, candidates, sets);
    if (!plan.ok) return plan.refused ? { status: "refused", reason: plan.message } : { status: "unreachable", reason: plan.message };
    const [client, user, http] = await Promise.all([
      readSecret(cluster.namespace, internalClientCertSecretName(cluster.name)),
      readSecret(cluster.namespace, plan.credentialsSecret),
      readSecret(cluster.namespace, plan.caSecret),
    ]);
    const login = credentials(user?.data);
    const ca = secretText(http?.data, "ca.crt");
    if (!login) return { status: "unreachable", reason: `Secret ${cluster.namespace}/${plan.credentialsSecret} has no key "elastic" nor "password"` };
    if (!ca) return { status: "unreachable", reason: `Secret ${cluster.namespace}/${plan.caSecret} has no key "ca.crt"` };
    // Absent before enabling and after disabling: the cluster does not ask for one then.
    const cert = secretText(client?.data, "tls.crt");
    const key = secretText(client?.data, "tls.key");
    const failures: string[] = [];
    for (const { pod, serverNames } of plan.targets.slice(0, MAX_PODS_ASKED)) {
      try {
        const status = await getHealth(pod.status!.podIP!, o.port ?? ES_HTTP_PORT, serverNames, { ca, cert, key, auth: `${login.user}:${login.password}` }, o.timeoutMs ?? TIMEOUT_MS);
        return { status, pod: pod.metadata!.name! };
      } catch (e) {
        failures.push(`${pod.metadata!.name}: ${(e as Error).message}`);
      }
    }
    return { status: "unreachable", reason: failures.join("; ") };
  };
}

/** The server's certificate (chain verified against the CA by TLS) must name one of `names`; no credentials are sent otherwise. */
function nameCheck(names: string[]) {
  return (_host: string, cert: tls.PeerCertificate): Error | undefined => {
    for (const n of names) if (!tls.checkServerIdentity(n, cert)) return undefined;
    return new Error(`the server's certificate names none of ${names.join(", ")}`);
  };
}

function getHealth(ip: string, port: number, names: string[], t: { ca: string; cert?: string | undefined; key?: string | undefined; auth: string }, timeoutMs: number): Promise<HealthStatus> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: ip,
        port,
        path: "/_cluster/health",
        method: "GET",
        ca: t.ca,
        ...(t.cert && t.key ? { cert: t.cert, key: t.key } : {}),
        servername: names[0],
        checkServerIdentity: nameCheck(names),
        headers: { authorization: `Basic ${Buffer.from(t.auth).toString("base64")}`, accept: "application/json" },
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
