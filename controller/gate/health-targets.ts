// Whom the health gate asks, with which Secrets (issue 18 finding 4). The gate sends the cluster's
// credentials (the `elastic` user's password, the controller's client certificate) to the pods it
// asks, so it must not be a deputy that someone who can edit the Elasticsearch and create a pod
// points elsewhere:
// - it asks only pods controlled by the cluster's own workload: a StatefulSet (the pod's controller
//   ownerReference, UID checked, the pod named as that StatefulSet names its pods and matching its
//   selector) that is either controlled by this Elasticsearch (ECK: `<es>-es-<nodeSet>`) or, when
//   controlled by nothing (the Helm charts, hand-written manifests, which no Elasticsearch owns),
//   whose pod template carries the cluster's labels. A pod that merely carries the labels is not asked;
// - a Secret named by an annotation (where no ECK runs) is used only when the pod template of that
//   StatefulSet itself uses it (a volume's secret, a projected secret, env secretKeyRef, envFrom),
//   so the annotation can point only at what the cluster's own pods already read. ECK's own names
//   (`<es>-es-elastic-user`, `<es>-es-http-certs-public`) are not the user's choice and are kept;
// - the server must present a certificate, verified with that CA, for one of the names the HTTP
//   certificate carries (serverNames below); pods are reached by IP, so the name is checked apart.
// The caller (kube/es-health.ts) reads the StatefulSets the pods name and does the I/O.
import type { V1LabelSelector, V1Pod, V1PodSpec, V1StatefulSet } from "@kubernetes/client-node";
import { ECK_TYPE_LABEL, ES_CLUSTER_LABEL, eckElasticUserSecretName, eckHttpCaSecretName, HEALTH_CREDENTIALS_ANNOTATION, HEALTH_HTTP_CA_ANNOTATION } from "../names.ts";

/** The cluster, and where its credentials and HTTP CA are when not at ECK's names (the annotations). */
export interface HealthCluster {
  namespace: string;
  name: string;
  uid: string;
  credentialsSecret?: string | undefined;
  httpCaSecret?: string | undefined;
}

interface HealthTarget {
  pod: V1Pod;
  /** The server's certificate must be valid for one of these (TLS host name rules). */
  serverNames: string[];
}

export type HealthPlan =
  | { ok: true; credentialsSecret: string; caSecret: string; targets: HealthTarget[]; skipped: string[] }
  | { ok: false; refused: boolean; message: string };

const controllerOf = (o: { metadata?: { ownerReferences?: Array<{ controller?: boolean; kind: string; name: string; uid: string; apiVersion: string }> } }) =>
  o.metadata?.ownerReferences?.find((r) => r.controller === true);

/** The StatefulSet names the health reader must read: each candidate pod's controller, when it is a StatefulSet. */
export function workloadNames(pods: V1Pod[]): string[] {
  return [...new Set(pods.map(controllerOf).filter((r) => r?.kind === "StatefulSet" && r.apiVersion.startsWith("apps/")).map((r) => r!.name))].sort();
}

/** How `sts` is the cluster's workload: "eck" (controlled by the Elasticsearch), "labelled" (controlled by nothing, template labelled for the cluster), or why not. */
function workloadKind(sts: V1StatefulSet, c: HealthCluster): { kind: "eck" | "labelled" } | { not: string } {
  const name = sts.metadata?.name ?? "";
  const ctl = controllerOf(sts);
  if (ctl) {
    if (ctl.kind === "Elasticsearch" && ctl.uid === c.uid && name.startsWith(`${c.name}-es-`)) return { kind: "eck" };
    return { not: `StatefulSet ${name} is controlled by ${ctl.kind} ${ctl.name}, not by Elasticsearch ${c.name}` };
  }
  const labels = sts.spec?.template?.metadata?.labels ?? {};
  if (labels[ECK_TYPE_LABEL] === "elasticsearch" && labels[ES_CLUSTER_LABEL] === c.name) return { kind: "labelled" };
  return { not: `StatefulSet ${name}'s pod template is not labelled for cluster ${c.name}` };
}

/** Whether the pod template uses Secret `name`: a volume (secret or projected), env secretKeyRef, envFrom secretRef. */
function templateUsesSecret(spec: V1PodSpec | undefined, name: string): boolean {
  if (!spec) return false;
  const volumes = spec.volumes ?? [];
  if (volumes.some((v) => v.secret?.secretName === name || v.projected?.sources?.some((s) => s.secret?.name === name))) return true;
  const containers = [...(spec.initContainers ?? []), ...spec.containers];
  return containers.some((c) => (c.env ?? []).some((e) => e.valueFrom?.secretKeyRef?.name === name) || (c.envFrom ?? []).some((e) => e.secretRef?.name === name));
}

function selectorMatches(sel: V1LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!sel || (!sel.matchLabels && !sel.matchExpressions)) return false; // an empty selector selects nothing we trust
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = e.key in labels;
    const inValues = has && (e.values ?? []).includes(labels[e.key]!);
    const ok = e.operator === "In" ? inValues : e.operator === "NotIn" ? !inValues : e.operator === "Exists" ? has : e.operator === "DoesNotExist" ? !has : false;
    if (!ok) return false;
  }
  return true;
}

/** The names the HTTP certificate should carry: ECK's HTTP Service; without ECK also the StatefulSet's Service (the chart's `masterService` = `<clusterName>-<nodeGroup>`), its governing Service and the pod's own DNS name. */
function serverNames(c: HealthCluster, sts: V1StatefulSet, pod: V1Pod, kind: "eck" | "labelled"): string[] {
  const eck = `${c.name}-es-http.${c.namespace}.svc`;
  if (kind === "eck") return [eck];
  const svc = sts.spec?.serviceName;
  const names = [eck, `${sts.metadata!.name}.${c.namespace}.svc`, ...(svc ? [`${svc}.${c.namespace}.svc`, `${pod.metadata!.name}.${svc}.${c.namespace}.svc`] : [])];
  return [...new Set(names)];
}

/**
 * Which of `pods` (Ready candidates, in order) to ask, and with which Secrets. `sets`: the
 * StatefulSets workloadNames(pods) named, by name, as read (absent: not found).
 */
export function planHealthRead(c: HealthCluster, pods: V1Pod[], sets: ReadonlyMap<string, V1StatefulSet>): HealthPlan {
  const credentialsSecret = c.credentialsSecret ?? eckElasticUserSecretName(c.name);
  const caSecret = c.httpCaSecret ?? eckHttpCaSecretName(c.name);
  const annotated: Array<[string, string]> = [
    ...(c.credentialsSecret ? [[HEALTH_CREDENTIALS_ANNOTATION, c.credentialsSecret] as [string, string]] : []),
    ...(c.httpCaSecret ? [[HEALTH_HTTP_CA_ANNOTATION, c.httpCaSecret] as [string, string]] : []),
  ];
  const targets: HealthTarget[] = [];
  const skipped: string[] = [];
  const refusals = new Set<string>();
  for (const pod of pods) {
    const name = pod.metadata!.name!;
    const ref = controllerOf(pod);
    const sts = ref?.kind === "StatefulSet" ? sets.get(ref.name) : undefined;
    if (!ref || !sts || sts.metadata?.uid !== ref.uid) {
      skipped.push(`${name}: not controlled by a StatefulSet of the cluster`);
      continue;
    }
    const kind = workloadKind(sts, c);
    if ("not" in kind) {
      skipped.push(`${name}: ${kind.not}`);
      continue;
    }
    const stsName = sts.metadata!.name!;
    const ordinal = name.startsWith(`${stsName}-`) && /^\d+$/.test(name.slice(stsName.length + 1));
    if (!ordinal || !selectorMatches(sts.spec?.selector, pod.metadata?.labels ?? {})) {
      skipped.push(`${name}: not a pod StatefulSet ${stsName} made (name or selector)`);
      continue;
    }
    const unused = annotated.filter(([, secret]) => !templateUsesSecret(sts.spec?.template?.spec, secret));
    if (unused.length) {
      for (const [annotation, secret] of unused) refusals.add(`Secret ${c.namespace}/${secret} (annotation ${annotation}) is not used by the pod template of StatefulSet ${stsName}`);
      continue;
    }
    targets.push({ pod, serverNames: serverNames(c, sts, pod, kind.kind) });
  }
  if (!targets.length && refusals.size) {
    return { ok: false, refused: true, message: `${[...refusals].join("; ")}: the health gate sends the cluster's credentials only with Secrets its own pods mount or reference` };
  }
  if (!targets.length) return { ok: false, refused: false, message: `no Ready pod of the cluster's own StatefulSets${skipped.length ? ` (${skipped.join("; ")})` : ""}` };
  return { ok: true, credentialsSecret, caSecret, targets, skipped };
}
