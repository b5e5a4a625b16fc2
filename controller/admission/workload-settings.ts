// What the workload container is configured with in an injected pod: environment variables the
// official images turn into settings that win over elasticsearch.yml / kibana.yml.
import type { V1EnvVar } from "@kubernetes/client-node";
import type { Role } from "../../protocol/intent.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE, ES_HTTP_CA_FILE, ES_PROBE_DIR, KIBANA_CERT_DIR } from "../names.ts";
import type { ClusterMode } from "./cluster-mode.ts";
import { esSettingName } from "../policy/user-http-trust.ts";

const ES_CLIENT_AUTH = "xpack.security.http.ssl.client_authentication";
const ES_CERTIFICATE_AUTHORITIES = "xpack.security.http.ssl.certificate_authorities";
/** curl reads `$CURL_HOME/.curlrc` first: the agent's local probe identity for the container's own curl probes and hooks. */
const CURL_HOME = "CURL_HOME";
const KIBANA_CERTIFICATE = "ELASTICSEARCH_SSL_CERTIFICATE";
const KIBANA_KEY = "ELASTICSEARCH_SSL_KEY";
const KIBANA_ALWAYS_PRESENT = "ELASTICSEARCH_SSL_ALWAYSPRESENTCERTIFICATE";

export function workloadSettings(role: Role, mode: ClusterMode, workloadEnv: V1EnvVar[] = []): Record<string, string> {
  return role === "elasticsearch" ? elasticsearchSettings(mode, workloadEnv) : kibanaSettings();
}

function elasticsearchSettings(mode: ClusterMode, workloadEnv: V1EnvVar[]): Record<string, string> {
  // The bundle path is configured in every injected phase (not only under `required`), so a toggle
  // changes client_authentication alone. The value is comma-separated: ES splits list settings given as
  // environment variables on commas. The HTTP CAs: the nodeSet's config, else the container's own
  // variable (how the official Helm chart sets them: config/certs/ca.crt), else ECK's HTTP CA.
  const own = mode.userCertificateAuthorities?.length ? mode.userCertificateAuthorities : envCertificateAuthorities(workloadEnv);
  const cas = [...(own?.length ? own : [ES_HTTP_CA_FILE]), `${ES_BUNDLE_DIR}/${ES_BUNDLE_FILE}`];
  return { [ES_CLIENT_AUTH]: mode.enforcement, [ES_CERTIFICATE_AUTHORITIES]: cas.join(","), [CURL_HOME]: ES_PROBE_DIR };
}

function kibanaSettings(): Record<string, string> {
  return {
    [KIBANA_CERTIFICATE]: `${KIBANA_CERT_DIR}/tls.crt`,
    [KIBANA_KEY]: `${KIBANA_CERT_DIR}/tls.key`,
    // Without it Kibana omits the certificate on requests it proxies for users, which `required` refuses.
    [KIBANA_ALWAYS_PRESENT]: "true",
  };
}

/** The CAs the container's own environment gives `certificate_authorities` (plain values only). */
function envCertificateAuthorities(env: V1EnvVar[]): string[] | undefined {
  const own = env.filter((e) => esSettingName(e.name) === ES_CERTIFICATE_AUTHORITIES && typeof e.value === "string").at(-1);
  return own?.value?.split(",").map((x) => x.trim()).filter(Boolean);
}

/**
 * The workload's env with our settings appended and every user entry naming the same setting dropped
 * (including ES's `ES_SETTING_…` spelling), so exactly one value reaches the process.
 */
export function mergeEnv(current: V1EnvVar[], settings: Record<string, string>, role: Role): { env: V1EnvVar[]; overridden: string[] } {
  const owned = new Set(Object.keys(settings));
  const names = (e: V1EnvVar) => (role === "elasticsearch" ? esSettingName(e.name) : e.name);
  const kept = current.filter((e) => !owned.has(names(e)));
  // A user's value that our setting carries on (its CAs, with the bundle appended) is kept, not overridden.
  const carried = (e: V1EnvVar) => typeof e.value === "string" && e.value.split(",").map((x) => x.trim()).filter(Boolean).every((x) => (settings[names(e)] ?? "").split(",").includes(x));
  const overridden = [...new Set(current.filter((e) => owned.has(names(e)) && !(names(e) === ES_CERTIFICATE_AUTHORITIES && carried(e))).map((e) => e.name))];
  return { env: [...kept, ...Object.entries(settings).map(([name, value]) => ({ name, value }))], overridden };
}
