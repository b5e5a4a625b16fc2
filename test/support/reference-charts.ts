// The official Elastic Helm charts (elastic/helm-charts, elasticsearch/ and kibana/, chart 8.5.1,
// Apache-2.0) as users install them. No module proxy serves them and the repo never copies them, so
// they are read from the sibling reference folder at test time: the ONE reader of that folder
// (test/smoke/self-contained.test.ts allows this file only). Absent in a clone: null, and every test
// that needs them skips with NEEDS_REFERENCE_CHARTS in its name.
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "..", "..", "..", "shared", "reference", "helm-charts");

/** Part of the name of every test that skips without the charts. */
export const NEEDS_REFERENCE_CHARTS = "needs ../shared/reference/helm-charts";

export interface ReferenceCharts {
  elasticsearch: string;
  kibana: string;
}

/** The two chart folders, or null when the reference folder (or either chart) is absent. */
export function referenceCharts(): ReferenceCharts | null {
  const elasticsearch = join(ROOT, "elasticsearch");
  const kibana = join(ROOT, "kibana");
  return existsSync(join(elasticsearch, "Chart.yaml")) && existsSync(join(kibana, "Chart.yaml")) ? { elasticsearch, kibana } : null;
}
