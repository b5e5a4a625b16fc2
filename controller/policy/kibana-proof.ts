// Kibana pods whose proof the agent cannot make (issue 19 item 5). Kibana reads its client
// certificate only at start, so the agent proves which identity it presents from Kibana's start
// time: `metrics.process.uptime_in_millis` of GET /api/status (agent/prove/kibana.ts). Kibana gives
// that to an unauthenticated caller only with `status.allowAnonymous: true`; the agent has no Kibana
// login (the chart's Kibana signs in to Elasticsearch with a service-account token, which Kibana does
// not accept from callers). Without it every Kibana restart would wait for a proof that never comes
// and the cluster would stay `Enabling` after its Kibana was already restarted, so it is refused first.
// Read where it can be: the `kibana` container configured through the official image's environment
// (as the Helm chart does: ELASTICSEARCH_HOSTS) without STATUS_ALLOWANONYMOUS=true. A Kibana
// configured through its own kibana.yml (ECK's, a mounted file) cannot be read and is not judged.
// Pure: pods in, problems out.
import type { V1Pod } from "@kubernetes/client-node";
import { KIBANA_CONTAINER } from "../names.ts";

interface KibanaProofProblem {
  pod: string;
}

const CONFIG_FILE = "/usr/share/kibana/config/kibana.yml";


/** Kibana pods configured by environment whose /api/status would not give the agent Kibana's uptime. */
export function kibanaProofUnavailable(pods: V1Pod[]): KibanaProofProblem[] {
  const out: KibanaProofProblem[] = [];
  for (const pod of pods) {
    const kb = (pod.spec?.containers ?? []).find((c) => c.name === KIBANA_CONTAINER);
    if (!kb) continue;
    const env = new Map((kb.env ?? []).map((e) => [e.name, e]));
    const byEnvironment = env.has("ELASTICSEARCH_HOSTS") && !(kb.volumeMounts ?? []).some((m) => m.mountPath === CONFIG_FILE);
    if (!byEnvironment) continue;
    if (env.get("STATUS_ALLOWANONYMOUS")?.value?.trim().toLowerCase() === "true") continue;
    out.push({ pod: pod.metadata?.name ?? "" });
  }
  return out;
}

export function describeKibanaProofProblems(cluster: string, problems: KibanaProofProblem[], shown = 3): string {
  const pods = problems.slice(0, shown).map((p) => p.pod).join(", ") + (problems.length > shown ? ` and ${problems.length - shown} more` : "");
  return `client certificate authentication of Elasticsearch ${cluster} restarts its Kibana pods and proves which certificate each presents from Kibana's start time, which GET /api/status gives without a login only with status.allowAnonymous: true; Kibana pod(s) ${pods} do not set STATUS_ALLOWANONYMOUS=true (the official chart: extraEnvs). Set it, then enable again`;
}
