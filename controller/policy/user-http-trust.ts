// Elasticsearch pods whose own HTTP trust settings cannot coexist with the injected one (issue 19
// item 5). Injection sets `xpack.security.http.ssl.certificate_authorities` through the environment
// (the user's CAs carried on, the bundle appended: admission/workload-settings.ts), and the image's
// environment overrides elasticsearch.yml. So:
// - `xpack.security.http.ssl.truststore.*` anywhere: Elasticsearch refuses a truststore together
//   with certificate_authorities, and the restarted pod would not start (the chart's own
//   examples/security does this, in its esConfig);
// - `certificate_authorities` in an elasticsearch.yml: the injected variable would replace the
//   user's CAs instead of adding to them.
// A variable is read here exactly; an elasticsearch.yml mounted into the container from anything but
// a Secret (the chart's `esConfig`, a ConfigMap) is not readable by the controller (it has no access
// to ConfigMaps), so such a pod is refused unless the Elasticsearch says the file holds neither
// (ES_YML_HTTP_TRUST_ANNOTATION). From a Secret it is ECK's layout, described by the nodeSet's config.
// Pure: pods in, problems out; refused before any restart (reconcile/phase.ts).
import type { V1EnvVar, V1Pod } from "@kubernetes/client-node";
import { ES_CONTAINER, ES_YML_HTTP_TRUST_ANNOTATION } from "../names.ts";
import type { Elasticsearch } from "../resources.ts";
import { flatSettings, nodeSetOfPod } from "./node-set-config.ts";

const CONFIG_DIR = "/usr/share/elasticsearch/config";
const TRUSTSTORE = "xpack.security.http.ssl.truststore.";

interface HttpTrustProblem {
  pod: string;
  why: string;
}

/** The setting an environment variable names in the ES image (`ES_SETTING_…` spelling included). */
export function esSettingName(env: string): string {
  if (!env.startsWith("ES_SETTING_")) return env;
  return env.slice("ES_SETTING_".length).replace(/__/g, "\0").replace(/_/g, ".").replace(/\0/g, "_").toLowerCase();
}

/** Every Elasticsearch pod whose own HTTP trust the injected certificate_authorities would break or drop. */
export function httpTrustConflicts(pods: V1Pod[], cluster?: Elasticsearch): HttpTrustProblem[] {
  const ymlReviewed = cluster?.metadata?.annotations?.[ES_YML_HTTP_TRUST_ANNOTATION] === "none";
  const out: HttpTrustProblem[] = [];
  for (const pod of pods) {
    const es = (pod.spec?.containers ?? []).find((c) => c.name === ES_CONTAINER);
    if (!es) continue;
    const name = pod.metadata?.name ?? "";
    const truststore = (es.env ?? []).map((e: V1EnvVar) => esSettingName(e.name)).filter((s) => s.startsWith(TRUSTSTORE));
    if (truststore.length) {
      out.push({ pod: name, why: `environment sets ${[...new Set(truststore)].join(", ")}; Elasticsearch refuses a truststore together with the certificate_authorities es-mtls sets, so the restarted pod would not start` });
      continue;
    }
    const yml = (es.volumeMounts ?? []).find((m) => m.mountPath === `${CONFIG_DIR}/elasticsearch.yml` || (m.mountPath === CONFIG_DIR && !m.subPath));
    // From a Secret it is ECK's layout: ECK renders elasticsearch.yml from the nodeSet's config, which
    // the controller reads from the Elasticsearch (its certificate_authorities are carried on:
    // admission/cluster-mode.ts). Any other source (the chart's ConfigMap) it cannot read.
    const fromSecret = !!yml && (pod.spec?.volumes ?? []).some((v) => v.name === yml.name && v.secret);
    if (fromSecret) {
      const nodeSet = nodeSetOfPod(cluster, pod.metadata?.labels ?? {});
      const inConfig = [...flatSettings(nodeSet?.config).keys()].filter((k) => k.startsWith(TRUSTSTORE));
      if (inConfig.length) out.push({ pod: name, why: `nodeSet ${nodeSet!.name} config sets ${inConfig.join(", ")}; Elasticsearch refuses a truststore together with the certificate_authorities es-mtls sets, so the restarted pod would not start` });
      continue;
    }
    if (yml && !ymlReviewed) {
      out.push({ pod: name, why: `mounts its own elasticsearch.yml (volume ${yml.name}), which es-mtls cannot read: a ${TRUSTSTORE}* there would keep the restarted pod from starting, and its certificate_authorities would be replaced` });
    }
  }
  return out;
}

/** One line for a condition and an Event: the first problems, how many more, and what to do. */
export function describeHttpTrustConflicts(cluster: string, problems: HttpTrustProblem[], shown = 3): string {
  const first = problems.slice(0, shown).map((p) => `pod ${p.pod}: ${p.why}`);
  const more = problems.length > shown ? `; and ${problems.length - shown} more` : "";
  return `client certificate authentication of Elasticsearch ${cluster} adds its client trust bundle to xpack.security.http.ssl.certificate_authorities (set through the environment) and cannot keep this HTTP trust: ${first.join("; ")}${more}. Give Elasticsearch its HTTP CAs as PEM files in the elasticsearch container's xpack.security.http.ssl.certificate_authorities variable (kept, with the bundle appended) instead of a truststore or elasticsearch.yml; if your elasticsearch.yml sets neither ${TRUSTSTORE}* nor certificate_authorities, annotate the Elasticsearch ${ES_YML_HTTP_TRUST_ANNOTATION}: "none"; then enable again`;
}
