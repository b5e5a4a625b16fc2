// Issue 19 item 6: a clone of the project has no ../shared (design notes, references), so no test,
// source or bench file may read from it; ECK's CRDs and operator come from its Go module (test/eck/).
// Comments may cite the notes; code may not name the folder. One exception: the official Helm charts
// (served by no module proxy) are read through test/support/reference-charts.ts alone, whose tests
// skip by name without them.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { tsFiles } from "../support/source-files.ts";

const ROOT = resolve(import.meta.dir, "../..");
const FOLDERS = ["agent", "bench", "common", "controller", "protocol", "test"];
/** The only reader allowed: it returns null when the folder is absent. */
const ALLOWED_READER = join(ROOT, "test", "support", "reference-charts.ts");

/** Code lines (comments dropped) that name the sibling folder: as a path segment or a "../shared" string. */
function readsShared(text: string): string[] {
  return text
    .split("\n")
    .map((line) => line.replace(/^\s*(\/\/|\*|\/\*).*$/, "").replace(/\s\/\/\s.*$/, ""))
    .filter((code) => /["'`]shared["'`]\s*,\s*["'`]reference["'`]|["'`]\.\.["'`]\s*,\s*["'`]shared["'`]|["'`]\.\.["'`]\s*,\s*["'`]\.\.["'`]\s*,\s*["'`]shared["'`]|\.\.\/shared\//.test(code));
}

describe("self-contained", () => {
  test("no file of the project reads ../shared but test/support/reference-charts.ts", () => {
    const found = FOLDERS.flatMap((f) => tsFiles(join(ROOT, f)))
      .filter((f) => !f.endsWith("self-contained.test.ts") && f !== ALLOWED_READER)
      .flatMap((f) => readsShared(readFileSync(f, "utf8")).map((line) => `${relative(ROOT, f)}: ${line.trim()}`));
    expect(found).toEqual([]);
  });

  test("the check can fail: a path join or a string naming ../shared is flagged, a comment citing it is not", () => {
    expect(readsShared(`const a = join(ROOT, "..", "shared", "reference", "x.yaml");`)).toHaveLength(1);
    expect(readsShared(`const b = "../shared/reference/eck-crds/all-crds.yaml";`)).toHaveLength(1);
    expect(readsShared(`const c = resolve(import.meta.dir, "..", "..", "..", "shared", "reference", "helm-charts");`)).toHaveLength(1);
    expect(readsShared(`// as ../shared/reference/es-kibana-tls-behaviour.md says`)).toEqual([]);
  });

  test("the allowed reader is the one named helper, and it does read the folder (else the exception is stale)", () => {
    const text = readFileSync(ALLOWED_READER, "utf8");
    expect(readsShared(text).length).toBeGreaterThan(0);
    expect(text).toContain("return existsSync(");
  });
});
