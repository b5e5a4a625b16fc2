// The official elasticsearch and kibana charts (elastic/helm-charts 8.5.1) rendered by the real
// `helm template` with the README's values (test/support/official-charts.ts), as the e2e runs them.
// Every deviation is a chart value a user may set too, given with --set, never an edit of the
// rendered YAML:
// - elasticsearch `persistence.enabled=false`: the test node has no storage provisioner for the
//   chart's 30Gi volumeClaimTemplate;
// - elasticsearch `sysctlInitContainer.enabled=false`: the privileged `sysctl -w vm.max_map_count`
//   init container runs the elasticsearch image, which the test node maps to the ES stand-in (a
//   server, it would never exit);
// - both charts' readinessProbe timing 0/1/1 s (chart: 10/10/3) and elasticsearch
//   `terminationGracePeriod=5` (chart: 120): to keep the test short;
// - kibana `healthCheckPath=/api/status` (chart: /app/kibana): the Kibana stand-in serves /api/status only;
// - kibana `extraEnvs` ELASTICSEARCH_USERNAME/PASSWORD (a file-realm user `kibana_system`) and
//   ELASTICSEARCH_SSL_VERIFICATIONMODE=certificate: the chart's service-account token comes from its
//   pre-install hook Job, which calls the service-token API the stand-in does not model (the hook is
//   run apart, by the real node: test/e2e/official-charts.test.ts), so the hooks are left out as
//   `helm install --no-hooks` does and the token Secret the Deployment reads is a placeholder; the
//   chart's certificate names the Services, not the pod IPs Kibana's stand-in resolves them to.
// Not a deviation: README's STATUS_ALLOWANONYMOUS=true (extraEnvs), which the agent's proof needs.
import { README_ES_VALUES, README_KB_VALUES, isHook, ofKind, renderOfficial, type Rendered } from "../../support/official-charts.ts";
import { CERTS_SECRET, CREDENTIALS_SECRET } from "./charts.ts";

export const KB_USER_SECRET = "kibana-kibana-user";
export const KB_TOKEN_SECRET = "kibana-kibana-es-token";

export interface RenderedCharts {
  /** What `helm install --no-hooks` would apply: the charts' objects, hooks and helm tests left out. */
  objects: Rendered[];
  /** The `elastic` password helm generated into `elasticsearch-master-credentials`. */
  password: string;
  /** The HTTP CA helm generated into `elasticsearch-master-certs`. */
  httpCaPem: string;
  /** The rendered StatefulSet's readiness probe script, as the kubelet runs it. */
  esReadinessScript: string;
}

const b64 = (s: string) => Buffer.from(s, "base64").toString();

export function renderCharts(namespace: string): RenderedCharts {
  const es = renderOfficial("elasticsearch", "elasticsearch", namespace, README_ES_VALUES, [
    "--set", "persistence.enabled=false",
    "--set", "sysctlInitContainer.enabled=false",
    "--set", "readinessProbe.initialDelaySeconds=0,readinessProbe.periodSeconds=1,readinessProbe.successThreshold=1",
    "--set", "terminationGracePeriod=5",
  ]);
  const kb = renderOfficial("kibana", "kibana", namespace, {
    ...README_KB_VALUES,
    "extraEnvs[1].name": "ELASTICSEARCH_USERNAME",
    "extraEnvs[1].value": "kibana_system",
    "extraEnvs[2].name": "ELASTICSEARCH_PASSWORD",
    "extraEnvs[2].valueFrom.secretKeyRef.name": KB_USER_SECRET,
    "extraEnvs[2].valueFrom.secretKeyRef.key": "password",
    "extraEnvs[3].name": "ELASTICSEARCH_SSL_VERIFICATIONMODE",
    "extraEnvs[3].value": "certificate",
    healthCheckPath: "/api/status",
  }, ["--set", "readinessProbe.initialDelaySeconds=0,readinessProbe.periodSeconds=1,readinessProbe.successThreshold=1"]);
  const objects = [...es, ...kb].filter((o) => !isHook(o));
  const secret = (name: string) => ofKind(objects, "Secret").find((s) => s.metadata?.name === name)!.data as Record<string, string>;
  const sts = ofKind(objects, "StatefulSet")[0]!;
  const probe = sts.spec.template.spec.containers.find((c: { name: string }) => c.name === "elasticsearch").readinessProbe.exec.command;
  return { objects, password: b64(secret(CREDENTIALS_SECRET).password!), httpCaPem: b64(secret(CERTS_SECRET)["ca.crt"]!), esReadinessScript: probe[2] };
}
