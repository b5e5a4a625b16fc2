// Whether the installed Elasticsearch CRD keeps spec.http.tls.client (controller/kube/crd-support.ts),
// on ECK 3.5's real CRD (read from ECK's Go module at test time, test/eck/module.ts), the same CRD with the field removed (as
// ECK ≤ 3.3's is), es-mtls's standalone CRD, and none at all.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ELASTICSEARCH_CRD, crdSupport } from "../../../controller/kube/crd-support.ts";
import { eckCrdsFile } from "../../eck/module.ts";

const ROOT = join(import.meta.dir, "..", "..", "..");
const ECK_CRDS = eckCrdsFile("the ECK 3.5 CRD cases");
const STANDALONE = join(ROOT, "deploy", "standalone-crds", "elasticsearch.k8s.elastic.co_elasticsearches.yaml");

/** Read as the client's models, as an API answer is (loadAllYaml maps x-kubernetes-* names). */
function esCrd(file: string): k8s.V1CustomResourceDefinition {
  const crd = k8s.loadAllYaml(readFileSync(file, "utf8")).find((d) => d?.kind === "CustomResourceDefinition" && d.metadata?.name === ELASTICSEARCH_CRD);
  if (!crd) throw new Error(`${ELASTICSEARCH_CRD} not in ${file}`);
  return crd;
}

/** The same CRD as ECK ≤ 3.3 ships it: no spec.http.tls.client in any version. */
function withoutClient(crd: k8s.V1CustomResourceDefinition): k8s.V1CustomResourceDefinition {
  for (const v of crd.spec.versions) delete v.schema?.openAPIV3Schema?.properties?.spec?.properties?.http?.properties?.tls?.properties?.client;
  return crd;
}

describe("the installed Elasticsearch CRD", () => {
  test.skipIf(!ECK_CRDS)("ECK 3.5's keeps spec.http.tls.client; the same without the field (ECK ≤ 3.3) is reported as pruning it", () => {
    const eck = esCrd(ECK_CRDS!);
    expect(crdSupport(eck)).toMatchObject({ supported: true, standalone: false });
    const old = crdSupport(withoutClient(eck));
    expect(old.supported).toBe(false);
    expect(old.detail).toContain("ECK ≤ 3.3");
  });

  test("es-mtls's standalone CRD keeps it and is told apart from ECK's by its label; none installed says what to install", () => {
    expect(crdSupport(esCrd(STANDALONE))).toMatchObject({ supported: true, standalone: true });
    const missing = crdSupport(undefined);
    expect(missing.supported).toBe(false);
    expect(missing.detail).toContain("not installed");
  });

  test.skipIf(!ECK_CRDS)("a level that preserves unknown fields keeps the field even without declaring it (as the standalone CRD does everywhere)", () => {
    const crd = withoutClient(esCrd(ECK_CRDS!));
    expect(crdSupport(crd).supported).toBe(false);
    const v1 = crd.spec.versions.find((v) => v.name === "v1")!;
    v1.schema!.openAPIV3Schema!.properties!.spec!.properties!.http!.properties!.tls!.x_kubernetes_preserve_unknown_fields = true;
    expect(crdSupport(crd).supported).toBe(true);
    expect(crdSupport(withoutClient(esCrd(STANDALONE))).supported).toBe(true);
  });
});
