// deploy/chart/ with its default values renders what `kubectl apply -k deploy/` installs, object by
// object (deploy/'s manifests are rendered from the chart, test/deploy/chart/render-deploy.test.ts,
// so this holds by construction but for the CRDs: deploy/crds/ is the chart's input, and the chart adds
// helm.sh/resource-policy: keep). The Namespace carries keep too (read by Helm only, kubectl ignores
// it), and the two variables the controller is given explicitly equal CONTROLLER_FLAGS's defaults.
import { describe, expect, test } from "bun:test";
import type { V1Deployment } from "@kubernetes/client-node";
import { CONTROLLER_FLAGS } from "../../../controller/config.ts";
import { identity, kustomization, renderChart, skipReason, type KubeObject } from "../../support/helm-chart.ts";

if (skipReason) console.error(`skipping deploy/chart defaults equal deploy/: ${skipReason}`);

/** The chart's CRD without the keep annotation it adds to deploy/crds/'s file (its input), checked. */
function withoutKeep(o: KubeObject): KubeObject {
  if (o.kind !== "CustomResourceDefinition") return o;
  const copy = structuredClone(o);
  expect(copy.metadata.annotations?.["helm.sh/resource-policy"]).toBe("keep");
  delete copy.metadata.annotations!["helm.sh/resource-policy"];
  if (!Object.keys(copy.metadata.annotations!).length) delete copy.metadata.annotations;
  return copy;
}

describe.skipIf(!!skipReason)("deploy/chart with default values equals deploy/", () => {
  const chart = skipReason ? [] : renderChart();
  const deployed = kustomization(".");

  test("the same objects: kinds, names and namespaces", () => {
    expect(chart.map(identity).sort()).toEqual(deployed.map(identity).sort());
    expect(deployed.length).toBeGreaterThan(15);
  });

  test("each object equal to deploy/'s, field by field", () => {
    const byIdentity = new Map(chart.map((o) => [identity(o), o]));
    for (const d of deployed) {
      const c = byIdentity.get(identity(d));
      expect(c ? withoutKeep(c) : `${identity(d)} missing from the chart`).toEqual(d);
    }
  });

  test("the Namespace is kept on uninstall; the controller's failure policy and log level equal its own defaults", () => {
    expect(chart.find((o) => o.kind === "Namespace")!.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
    const env = (chart.find((o) => o.kind === "Deployment") as unknown as V1Deployment).spec!.template.spec!.containers[0]!.env!;
    for (const name of ["ES_MTLS_WEBHOOK_FAILURE_POLICY", "ES_MTLS_LOG_LEVEL"]) {
      expect({ name, value: env.find((e) => e.name === name)?.value }).toEqual({ name, value: CONTROLLER_FLAGS.find((f) => f.env === name)?.default });
    }
  });

  test("the ClientAuthentication CRD is a template kept on uninstall, not in crds/ (which Helm never upgrades)", () => {
    const crds = chart.filter((o) => o.kind === "CustomResourceDefinition");
    expect(crds.map((o) => o.metadata.name)).toEqual(["clientauthentications.mtls.es-mtls.io"]);
    expect(crds[0]!.metadata.annotations).toEqual({ "helm.sh/resource-policy": "keep" });
  });

  test("both pass the agent's resources, equal to the controller's defaults (the README's figures)", () => {
    const env = (o: KubeObject) => (o as unknown as V1Deployment).spec!.template.spec!.containers[0]!.env!;
    const names = ["ES_MTLS_AGENT_CPU_REQUEST", "ES_MTLS_AGENT_MEMORY_REQUEST", "ES_MTLS_AGENT_CPU_LIMIT", "ES_MTLS_AGENT_MEMORY_LIMIT"];
    const defaults = names.map((name) => ({ name, value: CONTROLLER_FLAGS.find((f) => f.env === name)!.default }));
    expect(defaults.map((d) => d.value)).toEqual(["10m", "80Mi", "200m", "160Mi"]);
    for (const objects of [chart, deployed]) expect(env(objects.find((o) => o.kind === "Deployment")!).filter((e) => names.includes(e.name))).toEqual(defaults);
  });

  test("nothing in ECK's namespace", () => {
    expect(chart.filter((o) => o.metadata.namespace === "elastic-system").map(identity)).toEqual([]);
  });
});
