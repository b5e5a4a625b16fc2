// The official Elastic charts rendered by the real `helm template` (test/helm/binary.ts), with the
// values the README ("Elasticsearch and Kibana without ECK") tells users to add. Charts from
// reference-charts.ts; without them or without helm, `skipWhy` says why and the tests skip by name.
import { parseAllDocuments } from "yaml";
import type * as k8s from "@kubernetes/client-node";
import { runHelm, skipReason as noHelm } from "./helm-chart.ts";
import { NEEDS_REFERENCE_CHARTS, referenceCharts } from "./reference-charts.ts";

const charts = referenceCharts();
/** Why the official charts cannot be rendered here, or undefined. */
export const skipWhy = !charts ? `${NEEDS_REFERENCE_CHARTS} (absent)` : noHelm;
export { NEEDS_REFERENCE_CHARTS };

/** The README's `labels:` for the elasticsearch chart (clusterName elasticsearch). */
export const README_ES_VALUES = { "labels.common\\.k8s\\.elastic\\.co/type": "elasticsearch", "labels.elasticsearch\\.k8s\\.elastic\\.co/cluster-name": "elasticsearch" };
/** The README's values for the kibana chart: its `labels:` and STATUS_ALLOWANONYMOUS (the agent's proof: policy/kibana-proof.ts). */
export const README_KB_VALUES = {
  "labels.common\\.k8s\\.elastic\\.co/type": "kibana",
  "labels.kibana\\.k8s\\.elastic\\.co/name": "kibana",
  "extraEnvs[0].name": "STATUS_ALLOWANONYMOUS",
  "extraEnvs[0].value": "true",
};

export type Rendered = k8s.KubernetesObject & Record<string, any>;

/** `helm template <release> <chart> --namespace <ns>` with `--set` values and extra arguments (e.g. `-f file`). */
export function renderOfficial(chart: "elasticsearch" | "kibana", release: string, namespace: string, set: Record<string, string>, extra: string[] = []): Rendered[] {
  if (!charts) throw new Error(skipWhy);
  const args = ["template", release, charts[chart], "--namespace", namespace, ...Object.entries(set).flatMap(([k, v]) => ["--set-string", `${k}=${v}`]), ...extra];
  const r = runHelm(args);
  if (r.status !== 0) throw new Error(`helm ${args.join(" ")}: ${r.stderr.trim()}`);
  return parseAllDocuments(r.stdout).map((d) => d.toJS() as Rendered | null).filter((o): o is Rendered => !!o);
}

/** A chart's example values file (e.g. elasticsearch/examples/security/values.yaml), for `-f`. */
export function exampleValues(chart: "elasticsearch" | "kibana", example: string): string {
  if (!charts) throw new Error(skipWhy);
  return `${charts[chart]}/examples/${example}/values.yaml`;
}

export const ofKind = (objs: Rendered[], kind: string) => objs.filter((o) => o.kind === kind);
export const isHook = (o: Rendered) => !!o.metadata?.annotations?.["helm.sh/hook"];
