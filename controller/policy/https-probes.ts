// Probes and lifecycle hooks of Elasticsearch pods that call Elasticsearch over HTTPS and would fail
// once client certificates are required (issue 8 item 2), found before enabling so the cluster is
// refused with the reason instead of losing its pods' readiness one restart at a time.
//
// What keeps passing: tcpSocket and grpc checks; an `exec` in the `elasticsearch` container that
// calls Elasticsearch with curl (the official Helm chart's readiness probe): injection gives that
// container CURL_HOME, where the agent keeps a `.curlrc` naming the pod's probe identity, which the
// cluster's bundle trusts. What cannot pass, and is refused:
// - `httpGet` with scheme HTTPS on the elasticsearch container: the kubelet presents no client certificate;
// - an `exec` calling `https://…:9200` in any other container (it has no probe identity), or
//   without curl (only curl reads .curlrc), or with `curl -q` / `--disable` (which skips it).
// Pure: pods in, problems out.
import type { V1Container, V1LifecycleHandler, V1Pod, V1Probe } from "@kubernetes/client-node";
import { AGENT_CONTAINER, AGENT_INIT_CONTAINER, ES_CONTAINER } from "../names.ts";

interface HttpsCallProblem {
  pod: string;
  container: string;
  /** readinessProbe, livenessProbe, startupProbe, lifecycle.preStop, lifecycle.postStart */
  where: string;
  why: string;
}

const ES_HTTPS_URL = /https:\/\/[^\s'"]*:9200\b/;
/** curl as the first word of a command, or after a shell separator / `$(` / backquote. */
const CURL_CALL = /(^|[\s;&|(`])curl(\s|$)/;
const CURL_SKIPS_CONFIG = /(^|[\s;&|(`])curl\s+(-q|--disable)\b/;

/** Every HTTPS call of the pods' probes and hooks that would fail under `required`. */
export function httpsCallsThatWouldFail(pods: V1Pod[]): HttpsCallProblem[] {
  const out: HttpsCallProblem[] = [];
  for (const pod of pods) {
    const name = pod.metadata?.name ?? "";
    const containers = [...(pod.spec?.initContainers ?? []).filter((c) => c.restartPolicy === "Always"), ...(pod.spec?.containers ?? [])];
    for (const c of containers) {
      if (c.name === AGENT_CONTAINER || c.name === AGENT_INIT_CONTAINER) continue;
      for (const [where, h] of handlers(c)) {
        const why = problemOf(c, h);
        if (why) out.push({ pod: name, container: c.name, where, why });
      }
    }
  }
  return out;
}

/**
 * Whether a probe or hook of the pod's elasticsearch container calls Elasticsearch over HTTPS with
 * curl reading CURL_HOME/.curlrc: the only pods whose intent carries the local probe identity (issue
 * 18 finding 3). Every other pod gets none, so no key readable by the Elasticsearch container exists there.
 */
export function needsProbeIdentity(pod: V1Pod): boolean {
  const es = (pod.spec?.containers ?? []).find((c) => c.name === ES_CONTAINER);
  if (!es) return false;
  return handlers(es).some(([, h]) => {
    const text = (h.exec?.command ?? []).join(" ");
    return ES_HTTPS_URL.test(text) && CURL_CALL.test(text) && !CURL_SKIPS_CONFIG.test(text);
  });
}

/** One line for a condition and an Event: the first problems, and how many more. */
export function describeHttpsProblems(cluster: string, problems: HttpsCallProblem[], shown = 3): string {
  const first = problems.slice(0, shown).map((p) => `pod ${p.pod} container ${p.container} ${p.where}: ${p.why}`);
  const more = problems.length > shown ? `; and ${problems.length - shown} more` : "";
  return `client certificate authentication of Elasticsearch ${cluster} would break probes or hooks that call it over HTTPS: ${first.join("; ")}${more}. Change them (a tcpSocket check, or an exec with curl in the elasticsearch container, which presents the pod's probe identity), then enable again`;
}

function handlers(c: V1Container): Array<[string, V1Probe | V1LifecycleHandler]> {
  const out: Array<[string, V1Probe | V1LifecycleHandler]> = [];
  if (c.startupProbe) out.push(["startupProbe", c.startupProbe]);
  if (c.readinessProbe) out.push(["readinessProbe", c.readinessProbe]);
  if (c.livenessProbe) out.push(["livenessProbe", c.livenessProbe]);
  if (c.lifecycle?.preStop) out.push(["lifecycle.preStop", c.lifecycle.preStop]);
  if (c.lifecycle?.postStart) out.push(["lifecycle.postStart", c.lifecycle.postStart]);
  return out;
}

function problemOf(c: V1Container, h: V1Probe | V1LifecycleHandler): string | undefined {
  if (h.httpGet && (h.httpGet.scheme ?? "HTTP").toUpperCase() === "HTTPS" && c.name === ES_CONTAINER) {
    return `httpGet over HTTPS (port ${h.httpGet.port}): the kubelet presents no client certificate`;
  }
  const text = (h.exec?.command ?? []).join(" ");
  if (!ES_HTTPS_URL.test(text)) return undefined;
  if (c.name !== ES_CONTAINER) return `exec calling Elasticsearch over HTTPS from a container other than ${ES_CONTAINER}, which gets no probe identity`;
  if (!CURL_CALL.test(text)) return "exec calling Elasticsearch over HTTPS without curl; only curl reads the probe identity from CURL_HOME/.curlrc";
  if (CURL_SKIPS_CONFIG.test(text)) return "exec calling curl with -q/--disable, which skips CURL_HOME/.curlrc and so the probe identity";
  return undefined;
}
