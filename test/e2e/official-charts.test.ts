// Issue 19 item 5: the official Elastic charts (elastic/helm-charts elasticsearch/ and kibana/ 8.5.1)
// rendered by the real `helm template` with the README's values, judged by the controller's own
// rules, and the Kibana chart's hook script run by the real `node` against the Elasticsearch stand-in.
// Each test's name says it needs ../shared/reference/helm-charts (and helm): without them it skips.
import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { V1Pod, V1PodTemplateSpec } from "@kubernetes/client-node";
import { parse } from "yaml";
import { httpsCallsThatWouldFail, needsProbeIdentity } from "../../controller/policy/https-probes.ts";
import { httpTrustConflicts } from "../../controller/policy/user-http-trust.ts";
import { kibanaProofUnavailable } from "../../controller/policy/kibana-proof.ts";
import { kibanaChartHooksWouldFail } from "../../controller/policy/kibana-chart-hooks.ts";
import { KIBANA_CHART_HOOKS_ANNOTATION } from "../../controller/names.ts";
import { clusterOfPod } from "../../controller/kube/pod-cluster.ts";
import { ElasticsearchStandin, type ClientAuthentication } from "../fixtures/elasticsearch-standin/server.ts";
import { deployFile } from "../support/helm-chart.ts";
import { freeLoopbackAddress } from "../support/ports.ts";
import { NEEDS_REFERENCE_CHARTS, README_ES_VALUES, README_KB_VALUES, exampleValues, ofKind, renderOfficial, skipWhy, type Rendered } from "../support/official-charts.ts";

const NS = "prod";
const t = skipWhy ? test.skip : test;
if (skipWhy) console.error(`official charts: skipped, ${skipWhy}`);

const podOf = (template: V1PodTemplateSpec, name: string): V1Pod => ({ metadata: { ...template.metadata, name, namespace: NS }, spec: template.spec! });
const noKibanas = { get: () => undefined };

/** Whether the shipped pod webhook's objectSelector (deploy/webhooks.yaml) admits a pod with these labels to injection. */
function webhookSelects(labels: Record<string, string> = {}): boolean {
  const hook = deployFile("webhooks.yaml").flatMap((o) => ((o as Record<string, any>).webhooks ?? []) as Array<Record<string, any>>).find((w) => w.rules?.[0]?.resources?.includes("pods"))!;
  return (hook.objectSelector.matchExpressions as Array<{ key: string; operator: string; values: string[] }>).every((e) =>
    e.operator === "In" ? e.values.includes(labels[e.key] as string) : e.operator === "NotIn" ? !e.values.includes(labels[e.key] as string) : false,
  );
}

describe(`the official charts as the README has users render them (${NEEDS_REFERENCE_CHARTS})`, () => {
  t(`elasticsearch chart: pods selected for injection, the chart's curl probe kept (probe identity), its certificate_authorities variable carried on: nothing refused (${NEEDS_REFERENCE_CHARTS})`, () => {
    const objs = renderOfficial("elasticsearch", "elasticsearch", NS, README_ES_VALUES);
    const [sts] = ofKind(objs, "StatefulSet");
    expect(sts?.metadata?.name).toBe("elasticsearch-master");
    const pod = podOf(sts!.spec.template, "elasticsearch-master-0");
    expect(webhookSelects(pod.metadata!.labels)).toBe(true);
    expect(clusterOfPod(pod, noKibanas)).toEqual({ namespace: NS, name: "elasticsearch" });
    const es = pod.spec!.containers.find((c) => c.name === "elasticsearch")!;
    expect(es.env).toContainEqual({ name: "xpack.security.http.ssl.certificate_authorities", value: "/usr/share/elasticsearch/config/certs/ca.crt" });
    expect(httpsCallsThatWouldFail([pod])).toEqual([]);
    expect(needsProbeIdentity(pod)).toBe(true);
    expect(httpTrustConflicts([pod])).toEqual([]);
  });

  t(`elasticsearch chart, its own examples/security (truststore.path in esConfig): refused before any restart (UserTrustConflict) (${NEEDS_REFERENCE_CHARTS})`, () => {
    const objs = renderOfficial("elasticsearch", "security", NS, README_ES_VALUES, ["-f", exampleValues("elasticsearch", "security")]);
    // What the controller cannot read but the refusal is about: the ConfigMap's elasticsearch.yml sets an HTTP truststore.
    const yml = parse(ofKind(objs, "ConfigMap").find((c) => c.metadata?.name === "security-master-config")!.data["elasticsearch.yml"]) as Record<string, unknown>;
    expect(yml["xpack.security.http.ssl.truststore.path"]).toBe("/usr/share/elasticsearch/config/certs/elastic-certificates.p12");
    const pod = podOf(ofKind(objs, "StatefulSet")[0]!.spec.template, "security-master-0");
    const found = httpTrustConflicts([pod]);
    expect(found).toEqual([{ pod: "security-master-0", why: expect.stringContaining("mounts its own elasticsearch.yml (volume esconfig)") }]);
    // The same truststore given as a variable (extraEnvs) is named exactly.
    const viaEnv = renderOfficial("elasticsearch", "elasticsearch", NS, { ...README_ES_VALUES, "extraEnvs[0].name": "xpack.security.http.ssl.truststore.path", "extraEnvs[0].value": "/usr/share/elasticsearch/config/certs/t.p12" });
    expect(httpTrustConflicts([podOf(ofKind(viaEnv, "StatefulSet")[0]!.spec.template, "elasticsearch-master-0")])[0]?.why).toContain("environment sets xpack.security.http.ssl.truststore.path");
  });

  t(`kibana chart: with the README's STATUS_ALLOWANONYMOUS the proof can be made; without it enabling is refused (KibanaProofUnavailable) (${NEEDS_REFERENCE_CHARTS})`, () => {
    const kibanaPod = (set: Record<string, string>) => podOf(ofKind(renderOfficial("kibana", "kibana", NS, set), "Deployment")[0]!.spec.template, "kibana-kibana-1");
    const readme = kibanaPod(README_KB_VALUES);
    expect(webhookSelects(readme.metadata!.labels)).toBe(true);
    expect(kibanaProofUnavailable([readme])).toEqual([]);
    const labelsOnly = Object.fromEntries(Object.entries(README_KB_VALUES).filter(([k]) => k.startsWith("labels.")));
    expect(kibanaProofUnavailable([kibanaPod(labelsOnly)])).toEqual([{ pod: "kibana-kibana-1" }]);
  });

  t(`kibana chart's hook Jobs: their pods carry no labels, so the webhook never injects them (no sidecar to hold a Job open), and their script trusts a CA but presents no certificate (${NEEDS_REFERENCE_CHARTS})`, () => {
    const objs = renderOfficial("kibana", "kibana", NS, README_KB_VALUES);
    const jobs = ofKind(objs, "Job");
    expect(jobs.map((j) => [j.metadata?.name, j.metadata?.annotations?.["helm.sh/hook"]])).toEqual([
      ["post-delete-kibana-kibana", "post-delete"],
      ["pre-install-kibana-kibana", "pre-install,pre-upgrade"],
    ]);
    for (const j of jobs) {
      const pod = podOf(j.spec.template, `${j.metadata!.name}-x`);
      expect(pod.metadata?.labels).toBeUndefined();
      expect(webhookSelects(pod.metadata?.labels)).toBe(false);
      expect(clusterOfPod(pod, noKibanas)).toBeUndefined();
    }
    // So enabling is refused before any restart, naming those Jobs, unless the Elasticsearch says they are skipped.
    const kibana = podOf(ofKind(objs, "Deployment")[0]!.spec.template, "kibana-kibana-1");
    expect(kibanaChartHooksWouldFail([kibana])).toEqual([{ pod: "kibana-kibana-1", release: "kibana-kibana" }]);
    expect(kibanaChartHooksWouldFail([kibana], { [KIBANA_CHART_HOOKS_ANNOTATION]: "no-hooks" })).toEqual([]);
    const renamed = podOf(ofKind(renderOfficial("kibana", "logs", NS, { ...README_KB_VALUES, fullnameOverride: "logs-ui" }), "Deployment")[0]!.spec.template, "logs-ui-1");
    expect(kibanaChartHooksWouldFail([renamed])).toEqual([{ pod: "logs-ui-1", release: "logs-ui" }]);
    const script = hookScript(objs);
    // The options of its Elasticsearch requests: basic auth and the CA, no cert/key/pfx.
    const esOptions = [...script.matchAll(/const esToken(Create|Delete)Options = \{([^}]*)\}/g)].map((m) => m[2]!);
    expect(esOptions).toHaveLength(2);
    for (const o of esOptions) {
      expect(o).toContain("ca: esCa");
      expect(o).not.toMatch(/\b(cert|key|pfx)\s*:/);
    }
  });
});

const hookScript = (objs: Rendered[]): string => ofKind(objs, "ConfigMap").find((c) => c.metadata?.name === "kibana-kibana-helm-scripts")!.data["manage-es-token.js"];


const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/**
 * Runs the rendered manage-es-token.js as the pre-install Job's container would (`node <script>
 * create`, the Job's env) with the real node, in a mount namespace where /etc/hosts names the
 * stand-in elasticsearch-master and /run/secrets holds a service-account token (the script reads it
 * at start; it reaches the Kubernetes API only after Elasticsearch answered). Deviation: the CA file's
 * path (the chart's content, elsewhere).
 */
async function runHook(objs: Rendered[], esIp: string, caPem: string): Promise<{ status: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), "kibana-hook-"));
  dirs.push(dir);
  writeFileSync(join(dir, "manage-es-token.js"), hookScript(objs));
  writeFileSync(join(dir, "ca.crt"), caPem);
  writeFileSync(join(dir, "hosts"), `127.0.0.1 localhost\n${esIp} elasticsearch-master\n`);
  mkdirSync(join(dir, "sa"));
  writeFileSync(join(dir, "sa", "token"), "not-a-token");
  writeFileSync(join(dir, "sa", "ca.crt"), caPem);
  const job = ofKind(objs, "Job").find((j) => j.metadata?.name === "pre-install-kibana-kibana")!;
  const container = job.spec.template.spec.containers[0];
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", KUBERNETES_SERVICE_HOST: "127.0.0.1", KUBERNETES_SERVICE_PORT_HTTPS: "1", ELASTICSEARCH_USERNAME: "elastic", ELASTICSEARCH_PASSWORD: "pw" };
  for (const e of container.env as Array<{ name: string; value?: string }>) if (e.value !== undefined) env[e.name] = e.value;
  env.ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES = join(dir, "ca.crt");
  const args = (container.args as string[]).map((a) => (a.endsWith("manage-es-token.js") ? join(dir, "manage-es-token.js") : a));
  const inner = `mount --bind ${dir}/hosts /etc/hosts && mkdir -p /run && mount -t tmpfs tmpfs /run && mkdir -p /run/secrets/kubernetes.io && cp -r ${dir}/sa /run/secrets/kubernetes.io/serviceaccount && exec node ${args.map((a) => `'${a}'`).join(" ")}`;
  // Asynchronously: the stand-in serves from this process's event loop.
  const p = Bun.spawn(["unshare", "--mount", "--propagation", "private", "sh", "-c", inner], { env, stdout: "pipe", stderr: "pipe", timeout: 30_000 });
  const [out, err, status] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { status, out: `${out}${err}` };
}

const canRunHook = !skipWhy && spawnSync("unshare", ["--mount", "true"]).status === 0 && spawnSync("node", ["--version"]).status === 0;
const th = canRunHook ? test : test.skip;

th(`the pre-install/pre-upgrade hook script, run by the real node against Elasticsearch serving the chart's certificate: answered under \`none\`, refused at the TLS handshake under \`required\`, so \`helm upgrade kibana\` would fail (${NEEDS_REFERENCE_CHARTS}, node, unshare)`, async () => {
  const es = renderOfficial("elasticsearch", "elasticsearch", NS, README_ES_VALUES);
  const kb = renderOfficial("kibana", "kibana", NS, README_KB_VALUES);
  const certs = ofKind(es, "Secret").find((s) => s.metadata?.name === "elasticsearch-master-certs")!.data as Record<string, string>;
  const dir = mkdtempSync(join(tmpdir(), "chart-certs-"));
  dirs.push(dir);
  for (const k of ["tls.crt", "tls.key", "ca.crt"]) writeFileSync(join(dir, k), Buffer.from(certs[k]!, "base64"));
  const ip = await freeLoopbackAddress(9200);
  const run = async (mode: ClientAuthentication) => {
    const standin = await new ElasticsearchStandin({ keyFile: join(dir, "tls.key"), certFile: join(dir, "tls.crt"), caFiles: [join(dir, "ca.crt")], clientAuthentication: mode, host: ip, port: 9200, users: { elastic: "pw" }, reloadMs: 60_000, log: () => {} }).start();
    try {
      return await runHook(kb, ip, Buffer.from(certs["ca.crt"]!, "base64").toString());
    } finally {
      await standin.stop();
    }
  };
  const open = await run("none");
  // Reached Elasticsearch over TLS with the chart's CA and got HTTP answers (the stand-in has no
  // service-token API: its 404s end the script, after the handshake, which is what is shown here).
  expect(open.out).toContain("statusCode:");
  expect(open.out).not.toMatch(/failed: .*(certificate|socket hang up|ECONNRESET)/i);
  const locked = await run("required");
  if (process.env.ES_MTLS_TEST_VERBOSE) console.error(open.out, "\n---\n", locked.out);
  expect(locked.status).not.toBe(0);
  expect(locked.out).not.toContain("statusCode:");
  expect(locked.out).toMatch(/DELETE .* failed: +(socket hang up|.*certificate)/);
}, 60_000);
