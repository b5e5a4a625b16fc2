// deploy/chart/ through the `helm` test/helm/binary.ts builds: render it with values, lint it, and
// read deploy/'s manifests to compare with. Without helm the chart's tests skip, each by name with
// the reason (`skipReason`).
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { ensureHelm } from "../helm/binary.ts";

const DEPLOY = join(import.meta.dir, "..", "..", "deploy");
export const CHART = join(DEPLOY, "chart");

/** A rendered or shipped Kubernetes object, as far as the comparisons read it. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

const helm = ensureHelm((l) => console.error(l));
/** Why the chart's tests skip, or undefined when helm is there. */
export const skipReason = "missing" in helm ? `no helm: ${helm.missing}` : undefined;

export function runHelm(args: string[]): { status: number; stdout: string; stderr: string } {
  if (!("path" in helm)) throw new Error(skipReason);
  // A scratch HELM_* home, so no user's repositories or plugins take part.
  const home = join(process.env.TMPDIR ?? "/tmp", "es-mtls-helm-home");
  const env = { ...process.env, HELM_CACHE_HOME: join(home, "cache"), HELM_CONFIG_HOME: join(home, "config"), HELM_DATA_HOME: join(home, "data") };
  const r = spawnSync(helm.path, args, { encoding: "utf8", env, timeout: 60_000 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Every document of a multi-document YAML text, empty ones left out. */
function parseObjects(text: string): KubeObject[] {
  return parseAllDocuments(text)
    .map((d) => d.toJS() as KubeObject | null)
    .filter((o): o is KubeObject => !!o);
}

/** `helm template` of the chart with `--set`-style values; throws with helm's words if it refuses. */
export function renderChart(set: Record<string, string> = {}, extra: string[] = []): KubeObject[] {
  const args = ["template", "es-mtls", CHART, ...Object.entries(set).flatMap(([k, v]) => ["--set", `${k}=${v}`]), ...extra];
  const r = runHelm(args);
  if (r.status !== 0) throw new Error(r.stderr.trim());
  return parseObjects(r.stdout);
}

/** The objects of one deploy/ file. */
export const deployFile = (file: string): KubeObject[] => parseObjects(readFileSync(join(DEPLOY, file), "utf8"));

/** What `kubectl apply -k deploy/<dir>` installs: the kustomization's files (none of them is a directory). */
export function kustomization(dir: string): KubeObject[] {
  const k = parseObjects(readFileSync(join(DEPLOY, dir, "kustomization.yaml"), "utf8"))[0] as unknown as { resources: string[] };
  return k.resources.flatMap((f) => deployFile(join(dir, f)));
}

export const identity = (o: KubeObject) => `${o.kind} ${o.metadata.namespace ?? "-"}/${o.metadata.name}`;
