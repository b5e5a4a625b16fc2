// A Kibana for the demo, as ECK would run it next to the lifecycle `quickstart`: a Kibana resource
// referencing the Elasticsearch, and a Deployment of one pod labelled as ECK labels Kibana pods, so
// the controller's webhook injects the agent and the rollout restarts it first when enabling. The
// container is the Kibana stand-in (test fixture), configured only by env as the image is. The
// lifecycle setup (test/e2e/lifecycle) has no Kibana; this adds it without changing that setup.
import type * as k8s from "@kubernetes/client-node";
import { ES_NAME, NS, type Lifecycle } from "../e2e/lifecycle/cluster.ts";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { elasticsearchRunner, kibanaRunner } from "../node/fixtures/standin-runners.ts";
import { KIBANA } from "../../controller/resources.ts";
import { ECK_MANAGED_ANNOTATION } from "../../controller/names.ts";

/** What a Kibana needs of the setup it joins: the lifecycle's, or the install e2e's (test/netns/install.inner.ts). */
export type KibanaHost = Pick<Lifecycle, "node" | "dns" | "pods" | "core" | "custom" | "apps">;

export const KB_DEPLOYMENT = `${ES_NAME}-kb`;
const KB_LABELS = { "common.k8s.elastic.co/type": "kibana", "kibana.k8s.elastic.co/name": ES_NAME };
export const KB_SELECTOR = Object.entries(KB_LABELS).map(([k, v]) => `${k}=${v}`).join(",");
const HTTP_CA = "/usr/share/kibana/config/elasticsearch-certs";

const USERS_FILE = "/usr/share/elasticsearch/config/users";
const KB_USER_SECRET = `${ES_NAME}-kibana-user`;

function writeUsers(hostPath: string, line: string): void {
  mkdirSync(dirname(hostPath), { recursive: true });
  writeFileSync(hostPath, line);
}

/**
 * Kibana refuses the `elastic` superuser, and ECK gives it a service account token the stand-in
 * does not know; so the ES pods get a file-realm user `kibana_system` (config/users, as
 * `elasticsearch-users` writes it): into the running pods now, and into every pod the node starts
 * later through a runner that wraps the lifecycle's ES runner (later registrations win).
 */
async function kibanaUser(lc: KibanaHost): Promise<void> {
  const password = crypto.randomUUID();
  const line = `kibana_system:${await Bun.password.hash(password, { algorithm: "bcrypt", cost: 4 })}\n`;
  const base = elasticsearchRunner({ hostsFile: lc.dns!.file });
  lc.node!.runners.add({ ...base, name: "elasticsearch-standin+kibana_system", start: (ctx) => (writeUsers(ctx.path(USERS_FILE), line), base.start(ctx)) });
  for (const p of await lc.pods()) {
    const local = lc.node!.pod(NS, p.metadata!.name!);
    if (local) writeUsers(local.hostPath("elasticsearch", USERS_FILE), line);
  }
  await lc.core.createNamespacedSecret({ namespace: NS, body: { metadata: { name: KB_USER_SECRET }, stringData: { password } } });
}

export async function createKibana(lc: KibanaHost): Promise<void> {
  await kibanaUser(lc);
  lc.node!.runners.add(kibanaRunner({ hostsFile: lc.dns!.file }));
  await lc.custom.createNamespacedCustomObject({
    ...KIBANA,
    namespace: NS,
    body: { apiVersion: "kibana.k8s.elastic.co/v1", kind: "Kibana", metadata: { name: ES_NAME, annotations: { [ECK_MANAGED_ANNOTATION]: "false" } }, spec: { version: "9.4.0", count: 1, elasticsearchRef: { name: ES_NAME } } },
  });
  const env = (name: string, value: string): k8s.V1EnvVar => ({ name, value });
  await lc.apps.createNamespacedDeployment({
    namespace: NS,
    body: {
      metadata: { name: KB_DEPLOYMENT, labels: KB_LABELS },
      spec: {
        replicas: 1,
        selector: { matchLabels: KB_LABELS },
        template: {
          metadata: { labels: KB_LABELS },
          spec: {
            terminationGracePeriodSeconds: 5,
            containers: [{
              name: "kibana",
              image: "docker.elastic.co/kibana/kibana:9.4.0",
              ports: [{ name: "http", containerPort: 5601 }],
              env: [
                env("ELASTICSEARCH_HOSTS", `https://${ES_NAME}-es-http.${NS}.svc:9200`),
                env("ELASTICSEARCH_USERNAME", "kibana_system"),
                { name: "ELASTICSEARCH_PASSWORD", valueFrom: { secretKeyRef: { name: KB_USER_SECRET, key: "password" } } },
                env("ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES", `${HTTP_CA}/ca.crt`),
                env("ELASTICSEARCH_SSL_VERIFICATIONMODE", "certificate"), // the HTTP certificate names Services, not pod IPs
                env("STATUS_ALLOWANONYMOUS", "true"), // the agent's proof reads /api/status without credentials
              ],
              // HTTP (no Kibana TLS here): the scheme tells the injected agent where to probe.
              readinessProbe: { httpGet: { path: "/api/status", port: 5601 as never, scheme: "HTTP" }, periodSeconds: 1 },
              volumeMounts: [{ name: "es-ca", mountPath: HTTP_CA }],
            }],
            volumes: [{ name: "es-ca", secret: { secretName: `${ES_NAME}-es-http-certs-internal`, items: [{ key: "ca.crt", path: "ca.crt" }] } }],
          },
        },
      },
    },
  });
}

export async function kibanaPods(lc: Pick<Lifecycle, "core">): Promise<k8s.V1Pod[]> {
  return (await lc.core.listNamespacedPod({ namespace: NS, labelSelector: KB_SELECTOR })).items;
}

/** Kibana's own view of Elasticsearch: `/api/status` overall level of the serving pod ("available" = ES accepted it). */
export async function kibanaStatus(lc: Pick<Lifecycle, "core">): Promise<string> {
  const pod = (await kibanaPods(lc)).find((p) => !p.metadata?.deletionTimestamp && p.status?.podIP);
  if (!pod) return "no Kibana pod";
  try {
    const body = (await (await fetch(`http://${pod.status!.podIP}:5601/api/status`, { signal: AbortSignal.timeout(5000) })).json()) as { status?: { overall?: { level?: string } } };
    return `${pod.metadata!.name}: ${body.status?.overall?.level ?? "unknown"}`;
  } catch (e) {
    return `${pod.metadata!.name}: ${(e as Error).message}`;
  }
}
