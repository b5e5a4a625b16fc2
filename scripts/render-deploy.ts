// deploy/'s manifests, rendered from deploy/chart/ with `helm template`, so the chart is their one
// source: `npm run render-deploy` rewrites them; test/deploy/chart/render-deploy.test.ts fails while
// one differs from a fresh render. Each file is one template's output, rendered with the default
// values or with the one option that file stands for (deploy/eck/: eck.licenseRbac). Not rendered,
// because the chart reads them (deploy/chart/files/ links to them): the CRDs in deploy/crds/ and
// deploy/standalone-crds/ and the latter's admission policy. The kustomization.yaml files are written
// by hand; the test checks they list exactly these files.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { CHART, runHelm, skipReason } from "../test/support/helm-chart.ts";

export const DEPLOY = join(import.meta.dir, "..", "deploy");

/** A namespace no install has, for a template that renders into listed namespaces; its line is taken out. */
const PLACEHOLDER_NAMESPACE = "es-mtls-render-placeholder";

interface Rendered {
  /** The file under deploy/. */
  file: string;
  /** The chart template it is the output of, under deploy/chart/templates/. */
  template: string;
  /** `--set` values besides the defaults. */
  set?: Record<string, string>;
  /** The file names no namespace: applied with `kubectl apply -n <namespace> -f`. */
  namespaceFree?: boolean;
}

export const RENDERED: readonly Rendered[] = [
  { file: "namespace.yaml", template: "namespace.yaml" },
  { file: "serviceaccount.yaml", template: "serviceaccount.yaml" },
  { file: "rbac.yaml", template: "rbac.yaml" },
  { file: "admission-policy.yaml", template: "admission-policy.yaml" },
  { file: "service.yaml", template: "service.yaml" },
  { file: "deployment.yaml", template: "deployment.yaml" },
  { file: "pdb.yaml", template: "pdb.yaml" },
  { file: "webhooks.yaml", template: "webhooks.yaml" },
  { file: "networkpolicy.yaml", template: "networkpolicy.yaml" },
  { file: "agent-networkpolicy.yaml", template: "agent-networkpolicy.yaml", set: { "agentNetworkPolicy.namespaces": `{${PLACEHOLDER_NAMESPACE}}` }, namespaceFree: true },
  { file: "eck/eck-licensing-rbac.yaml", template: "eck-license-rbac.yaml", set: { "eck.licenseRbac": "true" } },
];

const header = (r: Rendered) =>
  [
    `# Generated from deploy/chart by \`npm run render-deploy\` (scripts/render-deploy.ts), do not edit:`,
    `# change deploy/chart/templates/${r.template} (or the chart's values) and render again.`,
    "",
  ].join("\n");

/** One template's documents out of `helm template`'s output, in the order helm prints them. */
function documentsOf(output: string, template: string): string[] {
  const source = `# Source: es-mtls/templates/${template}\n`;
  return output
    .split(/^---\n/m)
    .filter((d) => d.startsWith(source))
    .map((d) => d.slice(source.length).trimEnd() + "\n");
}

/** deploy/'s rendered files, path under deploy/ → text, as `npm run render-deploy` writes them. */
export function renderDeploy(): Map<string, string> {
  const files = new Map<string, string>();
  for (const r of RENDERED) {
    const set = Object.entries(r.set ?? {}).flatMap(([k, v]) => ["--set", `${k}=${v}`]);
    const out = runHelm(["template", "es-mtls", CHART, ...set]);
    if (out.status !== 0) throw new Error(`helm template ${set.join(" ")}: ${out.stderr.trim()}`);
    let docs = documentsOf(out.stdout, r.template);
    if (!docs.length) throw new Error(`deploy/chart/templates/${r.template} rendered nothing for deploy/${r.file}`);
    if (r.namespaceFree) {
      const line = `  namespace: ${PLACEHOLDER_NAMESPACE}\n`;
      if (!docs.every((d) => d.split(line).length === 2)) throw new Error(`deploy/${r.file}: expected one "${line.trim()}" per document`);
      docs = docs.map((d) => d.replace(line, ""));
    }
    files.set(r.file, header(r) + docs.join("---\n"));
  }
  return files;
}

if (import.meta.main) {
  if (skipReason) {
    console.error(skipReason);
    process.exit(1);
  }
  for (const [file, text] of renderDeploy()) {
    mkdirSync(dirname(join(DEPLOY, file)), { recursive: true });
    writeFileSync(join(DEPLOY, file), text);
    console.log(`deploy/${file}`);
  }
}
