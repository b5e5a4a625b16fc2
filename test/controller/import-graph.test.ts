// The controller's dependency rules, read from the source: no import cycle (type-only imports
// included), and admission code and the reconciler meet only through policy/ (or neutral folders
// such as kube/ and protocol/), never by importing each other.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const SCANNED = ["controller", "common", "protocol"];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(path);
    return e.name.endsWith(".ts") ? [path] : [];
  });
}

/** file (relative to the root) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SCANNED.flatMap((d) => sourceFiles(join(ROOT, d)))) {
    const text = readFileSync(file, "utf8");
    const targets = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^;]*?from\s+"(\.[^"]+)"|(?:^|\n)\s*import\s+"(\.[^"]+)"/g)]
      .map((m) => m[1] ?? m[2]!)
      .map((spec) => relative(ROOT, resolve(dirname(file), spec)));
    graph.set(relative(ROOT, file), targets);
  }
  return graph;
}

function findCycle(graph: Map<string, string[]>): string[] | undefined {
  const state = new Map<string, "visiting" | "done">();
  const stack: string[] = [];
  const visit = (node: string): string[] | undefined => {
    if (state.get(node) === "done") return undefined;
    if (state.get(node) === "visiting") return [...stack.slice(stack.indexOf(node)), node];
    state.set(node, "visiting");
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    stack.pop();
    state.set(node, "done");
    return undefined;
  };
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return undefined;
}

describe("import graph", () => {
  const graph = importGraph();

  test("every relative import resolves to a file", () => {
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !graph.has(t) && !t.startsWith("node_modules")).map((t) => `${file} → ${t}`));
    expect(missing).toEqual([]);
  });

  test("no import cycle in controller/, common/, protocol/", () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  test("admission/ and reconcile/ never import each other", () => {
    const crossing = [...graph].flatMap(([file, targets]) =>
      targets
        .filter((t) => (file.startsWith("controller/admission/") && t.startsWith("controller/reconcile/")) || (file.startsWith("controller/reconcile/") && t.startsWith("controller/admission/")))
        .map((t) => `${file} → ${t}`),
    );
    expect(crossing).toEqual([]);
  });

  test("the pure layers (policy/, gate/, status/ but its writer) reach no kube client and no reconcile step", () => {
    const pure = [...graph.keys()].filter((f) => /^controller\/(policy|gate|status)\//.test(f) && f !== "controller/status/write.ts");
    const offending = pure.flatMap((file) =>
      graph.get(file)!.filter((t) => t.startsWith("controller/reconcile/") || t.startsWith("controller/admission/") || /kube\/(writer|informers|events)\.ts$/.test(t)).map((t) => `${file} → ${t}`),
    );
    expect(offending).toEqual([]);
  });
});
