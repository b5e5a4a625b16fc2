// deploy/'s manifests are rendered from deploy/chart/ (scripts/render-deploy.ts), so the chart is
// their one source: a file edited by hand, or a template changed without `npm run render-deploy`,
// fails here. Without helm the comparison skips by name; which files are rendered is checked always.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { DEPLOY, RENDERED, renderDeploy } from "../../../scripts/render-deploy.ts";
import { skipReason } from "../../support/helm-chart.ts";

if (skipReason) console.error(`skipping deploy/ equals a fresh render of deploy/chart: ${skipReason}`);

const resources = (dir: string) => (parse(readFileSync(join(DEPLOY, dir, "kustomization.yaml"), "utf8")) as { resources: string[] }).resources;
const rendered = RENDERED.map((r) => r.file);

describe("deploy/ is rendered from deploy/chart", () => {
  test("every manifest in deploy/ and deploy/eck/ is rendered; the CRDs (deploy/crds/, deploy/standalone-crds/) are the chart's inputs", () => {
    const manifests = ["", "eck"].flatMap((dir) =>
      readdirSync(join(DEPLOY, dir)).filter((f) => f.endsWith(".yaml") && f !== "kustomization.yaml").map((f) => join(dir, f)),
    );
    expect(manifests.sort()).toEqual([...rendered].sort());
    // deploy/chart/files/ links to them, so helm reads the very files kubectl applies.
    expect(readdirSync(join(DEPLOY, "chart", "files")).sort()).toEqual(["crds", "standalone-crds"]);
  });

  test("the kustomizations list the rendered files (deploy/: all but the per-namespace agent-networkpolicy.yaml, plus the CRD)", () => {
    expect(resources(".").sort()).toEqual(
      ["crds/mtls.es-mtls.io_clientauthentications.yaml", ...rendered.filter((f) => !f.includes("/") && f !== "agent-networkpolicy.yaml")].sort(),
    );
    expect(resources("eck")).toEqual(["eck-licensing-rbac.yaml"]);
  });

  test.skipIf(!!skipReason)("deploy/ equals a fresh render of deploy/chart (npm run render-deploy)", () => {
    const fresh = renderDeploy();
    expect([...fresh.keys()]).toEqual(rendered);
    const stale = [...fresh].filter(([file, text]) => readFileSync(join(DEPLOY, file), "utf8") !== text).map(([file]) => file);
    expect(stale).toEqual([]);
    for (const [file, text] of fresh) {
      expect(text.startsWith("# Generated from deploy/chart by `npm run render-deploy`")).toBe(true);
      // A generated file carries no helm bookkeeping and, but the agents' policy, names its namespace.
      expect(text).not.toContain("# Source:");
      expect(text.includes("es-mtls-render-placeholder")).toBe(false);
      if (file === "agent-networkpolicy.yaml") expect(text).not.toContain("\n  namespace:");
    }
  });
});
