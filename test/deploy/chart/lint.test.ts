// `helm lint` accepts deploy/chart/ as shipped, and with every option switched on.
import { describe, expect, test } from "bun:test";
import { CHART, runHelm, skipReason } from "../../support/helm-chart.ts";

if (skipReason) console.error(`skipping helm lint of deploy/chart: ${skipReason}`);

const ALL_ON = [
  "standaloneCrds.enabled=true",
  "serviceMonitor.enabled=true",
  "prometheusRule.enabled=true",
  "eck.licenseRbac=true",
  "agentNetworkPolicy.namespaces={search,logs}",
  "priorityClassName=system-cluster-critical",
];

describe.skipIf(!!skipReason)("helm lint deploy/chart", () => {
  test("passes with the default values, strictly", () => {
    const r = runHelm(["lint", "--strict", CHART]);
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
    expect(r.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
  });

  test("passes with every option on", () => {
    const r = runHelm(["lint", "--strict", CHART, ...ALL_ON.flatMap((v) => ["--set", v])]);
    expect({ status: r.status, out: r.stdout + r.stderr }).toMatchObject({ status: 0 });
  });

  test("fails on a value the schema refuses (lint can fail)", () => {
    const r = runHelm(["lint", "--strict", CHART, "--set", "replicas=two"]);
    expect(r.status).not.toBe(0);
  });
});
