// Kibanas of the official Kibana chart, whose Helm hook Jobs would be refused under `required`
// (issue 19 item 5). The chart's `pre-install-<fullname>` Job (pre-install and pre-upgrade) and
// `post-delete-<fullname>` Job run manage-es-token.js: Node's `https` with basic auth and the chart's
// CA, never a client certificate (and Node reads none from the environment), so once Elasticsearch
// requires one, `helm upgrade` of that Kibana fails and `helm uninstall` leaves its token behind.
// The Jobs exist only during a Helm operation, so what is judged is the Deployment's mark of them:
// the `kibana` container takes ELASTICSEARCH_SERVICEACCOUNTTOKEN from the Secret `<fullname>-es-token`
// that those Jobs write. Refused before any restart unless the Elasticsearch says the hooks are
// skipped (KIBANA_CHART_HOOKS_ANNOTATION: "no-hooks", i.e. `helm upgrade/uninstall --no-hooks`).
// Pure: pods in, problems out (reconcile/phase.ts).
import type { V1Pod } from "@kubernetes/client-node";
import { KIBANA_CHART_HOOKS_ANNOTATION, KIBANA_CONTAINER } from "../names.ts";

const TOKEN_ENV = "ELASTICSEARCH_SERVICEACCOUNTTOKEN";
const TOKEN_SECRET_SUFFIX = "-es-token";

interface KibanaChartHooksProblem {
  pod: string;
  /** The chart's fullname: its hook Jobs are pre-install-<release> and post-delete-<release>. */
  release: string;
}

/** Kibana pods of the official chart whose hook Jobs would call Elasticsearch without a certificate. */
export function kibanaChartHooksWouldFail(pods: V1Pod[], esAnnotations: Record<string, string> = {}): KibanaChartHooksProblem[] {
  if (esAnnotations[KIBANA_CHART_HOOKS_ANNOTATION] === "no-hooks") return [];
  const out: KibanaChartHooksProblem[] = [];
  for (const pod of pods) {
    const kb = (pod.spec?.containers ?? []).find((c) => c.name === KIBANA_CONTAINER);
    const secret = kb?.env?.find((e) => e.name === TOKEN_ENV)?.valueFrom?.secretKeyRef?.name;
    if (!secret?.endsWith(TOKEN_SECRET_SUFFIX) || secret.length === TOKEN_SECRET_SUFFIX.length) continue;
    out.push({ pod: pod.metadata?.name ?? "", release: secret.slice(0, -TOKEN_SECRET_SUFFIX.length) });
  }
  return out;
}

export function describeKibanaChartHooksProblems(cluster: string, problems: KibanaChartHooksProblem[], shown = 3): string {
  const pods = problems.slice(0, shown).map((p) => p.pod).join(", ") + (problems.length > shown ? ` and ${problems.length - shown} more` : "");
  const jobs = [...new Set(problems.map((p) => p.release))].map((r) => `pre-install-${r}, post-delete-${r}`).join("; ");
  return `client certificate authentication of Elasticsearch ${cluster} would refuse the Kibana chart's Helm hook Jobs (${jobs}): Kibana pod(s) ${pods} take ELASTICSEARCH_SERVICEACCOUNTTOKEN from the Secret those Jobs write, and their script calls Elasticsearch with a password and no client certificate, so helm upgrade of that Kibana would fail and helm uninstall would leave its token in Elasticsearch. Run that chart's upgrades and uninstalls with --no-hooks (the README, "The Kibana chart's hook Jobs"), annotate the Elasticsearch ${KIBANA_CHART_HOOKS_ANNOTATION}: "no-hooks", then enable again`;
}
