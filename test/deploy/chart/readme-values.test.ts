// The README's "Install with Helm" table names every value of deploy/chart/values.schema.json, no
// other, and shows values.yaml's default for each plain value.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
const CHART = join(import.meta.dir, "..", "..", "..", "deploy", "chart");

interface Schema {
  properties?: Record<string, Schema>;
}

/** The schema's leaves as dotted paths (an object without properties of its own is a leaf). */
function leaves(s: Schema, prefix = ""): string[] {
  return Object.entries(s.properties ?? {}).flatMap(([k, v]) => (v.properties ? leaves(v, `${prefix}${k}.`) : [`${prefix}${k}`]));
}

const schema = JSON.parse(readFileSync(join(CHART, "values.schema.json"), "utf8")) as Schema;
const values = parse(readFileSync(join(CHART, "values.yaml"), "utf8")) as Record<string, unknown>;
const readme = readFileSync(join(CHART, "..", "..", "README.md"), "utf8");
const section = readme.slice(readme.indexOf("### Install with Helm"), readme.indexOf("\n## ", readme.indexOf("### Install with Helm")));
const rows = new Map([...section.matchAll(/^\| `([^`]+)` \| ([^|]+) \|/gm)].map((m) => [m[1]!, m[2]!.trim()]));

const valueAt = (path: string): unknown => path.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)[k], values);

describe("README values table", () => {
  test("names exactly the schema's values", () => {
    expect(leaves(schema).length).toBeGreaterThan(15);
    expect([...rows.keys()].sort()).toEqual(leaves(schema).sort());
  });

  test("shows values.yaml's default of every plain value", () => {
    for (const path of leaves(schema)) {
      const v = valueAt(path);
      if (typeof v === "object" && v !== null && !(Array.isArray(v) && !v.length) && Object.keys(v).length) continue;
      const shown = typeof v === "string" && v === "" ? "empty" : `\`${typeof v === "object" ? JSON.stringify(v) : String(v)}\``;
      expect({ path, shown: rows.get(path) }).toEqual({ path, shown });
    }
  });
});
