// The dependency rules of CONTRIBUTING.md ("Where things go", the "may import" column), read from
// the source: no import cycle (type-only imports included); every folder of the controller and the
// agent imports only what its row allows; the agent reaches nothing of the controller, and its
// runtime-specific code stays in agent/runtime/; and the failure idiom ("One failure idiom per
// layer"): no `catch (e: any)`, no `e?.x` / `(e as any).x` reads of a caught error, no branch on a
// message. The checkers are plain functions of a path and a text, so the last tests feed them
// forbidden code and show that each rule can fail.
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { tsFiles } from "../support/source-files.ts";

const ROOT = resolve(import.meta.dir, "../..");
const SCANNED = ["controller", "common", "protocol"];

/** file (relative to the root) → the project files it imports. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of SCANNED.flatMap((d) => tsFiles(join(ROOT, d)))) {
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

// ---- the "may import" column --------------------------------------------------------------

/** One import of a file: a project file (relative to the root) or a package ("pkg:name"), and whether it loads no code. */
interface ImportEdge {
  target: string;
  typeOnly: boolean;
  /** `import("…")`: loaded when the code runs there, not when the importer loads. */
  dynamic?: boolean;
}

/** The imports and re-exports of one source text (static and dynamic). */
function importsOf(file: string, text: string): ImportEdge[] {
  const edges: ImportEdge[] = [];
  const add = (spec: string, typeOnly: boolean) =>
    edges.push({ target: spec.startsWith(".") ? relative(".", join(dirname(file), spec)) : `pkg:${spec}`, typeOnly });
  for (const m of text.matchAll(/^[ \t]*(import|export)\s+(type\s+)?(\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+))?)\s*from\s*"([^"]+)"/gm)) {
    const names = m[3]!.startsWith("{") ? m[3]!.slice(1, -1).split(",").map((s) => s.trim()).filter(Boolean) : [];
    add(m[4]!, Boolean(m[2]) || (names.length > 0 && names.every((n) => n.startsWith("type "))));
  }
  for (const m of text.matchAll(/^[ \t]*import\s*"([^"]+)"/gm)) add(m[1]!, false);
  const before = edges.length;
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) add(m[1]!, false);
  for (const e of edges.slice(before)) e.dynamic = true;
  return edges;
}

const BASE = ["common/", "protocol/", "controller/names.ts", "controller/resources.ts", "controller/errors.ts"];
const OBSERVE = ["controller/log.ts", "controller/metrics.ts"];
const PURE_STATUS = ["controller/status/build.ts", "controller/status/conditions.ts"];
/** The pure folders: they return data, and log, count and call nothing. */
const PURE = ["controller/policy/", "controller/gate/", "controller/trust/", "controller/pki/", ...PURE_STATUS];

interface Row {
  /** The files the row is about: a folder ("…/"), a file, or a predicate. */
  files: string | ((file: string) => boolean);
  /** What they may import besides their own folder (prefixes). */
  may: string[];
  /** What they may import types from (`import type`: no code loaded), for the ports they implement. */
  typesFrom?: string[];
}

/** CONTRIBUTING.md's column, in order: the first row whose `files` matches applies. */
const ROWS: Row[] = [
  { files: "protocol/", may: [] },
  // The version --version prints is package.json's, embedded by the import.
  { files: "common/version.ts", may: ["package.json"] },
  { files: "common/", may: [] },
  { files: "controller/names.ts", may: ["common/", "protocol/"] },
  { files: "controller/resources.ts", may: ["common/", "protocol/", "controller/names.ts"] },
  { files: "controller/errors.ts", may: [] },
  { files: "controller/log.ts", may: [] },
  { files: "controller/metrics.ts", may: [] },
  { files: "controller/config.ts", may: [...BASE, "controller/log.ts"] },
  { files: "controller/pki/", may: BASE },
  { files: "controller/trust/", may: BASE },
  { files: "controller/policy/", may: [...BASE, "controller/pki/", "controller/trust/"] },
  { files: "controller/status/write.ts", may: [...BASE, ...OBSERVE, "controller/status/", "controller/kube/"] },
  { files: "controller/status/", may: [...BASE, "controller/policy/"] },
  { files: "controller/gate/", may: [...BASE, "controller/policy/", "controller/pki/", "controller/trust/", ...PURE_STATUS] },
  { files: "controller/kube/", may: [...BASE, ...OBSERVE], typesFrom: PURE },
  // The app takes the server's per-request bindings (holdOpen) as a type: serving/tls-server.ts serves it.
  { files: "controller/intent-api/", may: [...BASE, ...OBSERVE, "controller/pki/", "controller/kube/"], typesFrom: ["controller/serving/tls-server.ts"] },
  { files: "controller/admission/", may: [...BASE, ...OBSERVE, "controller/policy/", "controller/kube/"] },
  {
    files: "controller/reconcile/",
    may: [...BASE, ...OBSERVE, "controller/kube/", "controller/pki/", "controller/trust/", "controller/policy/", "controller/gate/", "controller/status/", "controller/intent-api/"],
  },
  // The process and its wiring: main.ts, the other root files, and serving/ (the servers of the
  // intent API and the webhooks, being split out of main.ts): anything of the controller.
  { files: (f) => /^controller\/[^/]+\.ts$/.test(f) || f.startsWith("controller/serving/"), may: ["controller/", "common/", "protocol/"] },
  // The agent reaches nothing of the controller; only its runtime adapters know the runtime,
  // and everyone else sees the adapters through runtime/contract.ts (main.ts loads one).
  { files: "agent/runtime/", may: ["agent/errors.ts"] },
  { files: "agent/main.ts", may: ["agent/", "common/", "protocol/"] },
  { files: "agent/", may: ["agent/", "common/", "protocol/"] },
];

/**
 * Imports the column does not allow yet, each with the change that removes it; empty when none is
 * under way (the test below fails on an exception that is no longer needed).
 */
const TEMPORARY_EXCEPTIONS = new Set<string>([]);

const folderOf = (file: string) => file.slice(0, file.lastIndexOf("/") + 1);
const rowOf = (file: string) => ROWS.find((r) => (typeof r.files === "string" ? (r.files.endsWith("/") ? file.startsWith(r.files) : file === r.files) : r.files(file)));
const RUNTIME_PACKAGE = /^pkg:(bun|bun:.*|deno|npm:.*|jsr:.*)$/;

/** The imports of `file` that its row does not allow, as "file → target (why)". */
function importViolations(file: string, edges: ImportEdge[]): string[] {
  const row = rowOf(file);
  if (!row) return [`${file}: no row in CONTRIBUTING's "may import" column (add one, and one here)`];
  const out: string[] = [];
  for (const { target, typeOnly } of edges) {
    const edge = `${file} → ${target}`;
    if (target.startsWith("pkg:")) {
      if (target === "pkg:@peculiar/x509" && file !== "common/x509.ts") out.push(`${edge} (only common/x509.ts loads @peculiar/x509)`);
      if (file.startsWith("agent/") && !file.startsWith("agent/runtime/") && RUNTIME_PACKAGE.test(target)) out.push(`${edge} (runtime-specific: only in agent/runtime/)`);
      if (PURE.some((p) => file.startsWith(p)) && target === "pkg:@kubernetes/client-node" && !typeOnly) out.push(`${edge} (a pure folder takes client-node's types only)`);
      continue;
    }
    if (target.startsWith(folderOf(file)) && !(file.startsWith("controller/status/") && target === "controller/status/write.ts")) continue;
    if (file.startsWith("agent/") && !file.startsWith("agent/runtime/") && file !== "agent/main.ts" && target.startsWith("agent/runtime/") && target !== "agent/runtime/contract.ts") {
      out.push(`${edge} (only main.ts loads a runtime adapter; others see agent/runtime/contract.ts)`);
      continue;
    }
    if (row.may.some((p) => target.startsWith(p))) continue;
    if (typeOnly && row.typesFrom?.some((p) => target.startsWith(p))) continue;
    if (TEMPORARY_EXCEPTIONS.has(edge)) continue;
    out.push(`${edge} (not in the row of ${typeof row.files === "string" ? row.files : folderOf(file)})`);
  }
  return out;
}

/** Text outside strings and comments stays; comments are blanked so they neither match nor hide. */
function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
}

/** Runtime globals used outside agent/runtime/. */
function runtimeGlobalViolations(file: string, text: string): string[] {
  if (!file.startsWith("agent/") || file.startsWith("agent/runtime/")) return [];
  return [...stripComments(text).matchAll(/\b(Bun|Deno)\.[A-Za-z]/g)].map((m) => `${file}: uses ${m[1]}. outside agent/runtime/`);
}

/** What the agent never loads: the controller's libraries (its memory is paid in every pod, issue 21). */
const AGENT_NEVER = ["common/x509.ts", "pkg:@peculiar/x509", "pkg:reflect-metadata", "pkg:@kubernetes/client-node"];

/** Built-ins an Elasticsearch pod's agent on Bun never uses (Kibana's proof, the Deno adapter): imported only with import(). */
const LAZY_ONLY = ["pkg:node:http", "pkg:node:https", "pkg:node:stream"];

function lazyOnlyViolations(file: string, edges: ImportEdge[]): string[] {
  return edges.filter((e) => !e.typeOnly && !e.dynamic && LAZY_ONLY.includes(e.target)).map((e) => `${file} → ${e.target} (static: import() it where it is used)`);
}

/**
 * The files and packages `entry` loads, transitively through our files; a type-only import loads
 * nothing. `staticOnly`: what loading `entry` loads, before any `import()` runs.
 */
function loadedBy(entry: string, edgesOf: (file: string) => ImportEdge[], staticOnly = false): Set<string> {
  const seen = new Set<string>([entry]);
  for (const file of seen) for (const e of file.startsWith("pkg:") ? [] : edgesOf(file)) if (!e.typeOnly && !(staticOnly && e.dynamic)) seen.add(e.target);
  return seen;
}

// ---- the failure idiom --------------------------------------------------------------------

/** The text from `open` (an opening bracket) to its matching close. */
function balanced(text: string, open: number): string {
  const pairs: Record<string, string> = { "{": "}", "(": ")" };
  const want = [pairs[text[open]!]!];
  let i = open + 1;
  for (; i < text.length && want.length > 0; i++) {
    const c = text[i]!;
    if (c === "{" || c === "(") want.push(pairs[c]!);
    else if (c === want[want.length - 1]) want.pop();
  }
  return text.slice(open, i);
}

/** `catch (e: any)`, a caught error read as `e?.x` or `(e as any)` / `(e as { … })`, a branch on a message or on a RangeError. */
function idiomViolations(file: string, source: string): string[] {
  const text = stripComments(source);
  const lineOf = (index: number) => text.slice(0, index).split("\n").length;
  const out: string[] = [];
  const handlers = [
    ...[...text.matchAll(/\bcatch\s*\(\s*([\w$]+)\s*(?::\s*([\w$]+))?\s*\)\s*\{/g)].map((m) => ({ m, body: balanced(text, m.index! + m[0].length - 1) })),
    ...[...text.matchAll(/\.catch\(\s*\(?\s*([\w$]+)\s*(?::\s*([\w$]+))?\s*\)?\s*=>/g)].map((m) => ({ m, body: balanced(text, m.index! + "catch".length + 1) })),
  ];
  for (const { m, body } of handlers) {
    const [, name, type] = m;
    const at = `${file}:${lineOf(m.index!)}`;
    if (type === "any") out.push(`${at}: catch (${name}: any): test the error with kube/api-error.ts's predicates or instanceof`);
    const read = new RegExp(`\\b${name}\\?\\.[\\w$]+|\\(\\s*${name}\\s+as\\s+(?:any|\\{[^}]*\\})\\s*\\)`).exec(body);
    if (read) out.push(`${at}: reads "${read[0]}" of a caught error: use kube/api-error.ts's predicates, instanceof or a code`);
  }
  // An error's message (e, err, error, cause, …Error): a verdict's message is data and may be compared.
  const errorMessage = String.raw`\b(?:e|err|error|cause|[\w$]*Error)\??\.message`;
  const branch = new RegExp(String.raw`${errorMessage}\s*(?:\.\s*(?:includes|startsWith|endsWith|match|indexOf)\s*\(|[!=]==)|\.test\(\s*${errorMessage}\b|\binstanceof\s+RangeError\b`, "g");
  for (const m of text.matchAll(branch)) {
    out.push(`${file}:${lineOf(m.index!)}: branches on "${m[0]}": branch on a code or instanceof, never on a message or a built-in error class`);
  }
  return out;
}

// ---- the tests ----------------------------------------------------------------------------

const ALL = ["controller", "agent", "common", "protocol"].flatMap((d) => tsFiles(join(ROOT, d))).map((f) => ({ file: relative(ROOT, f), text: readFileSync(f, "utf8") }));

describe("import graph", () => {
  const graph = importGraph();

  test("every relative import resolves to a file", () => {
    const resolves = (t: string) => graph.has(t) || t.startsWith("node_modules") || (t.endsWith(".json") && existsSync(join(ROOT, t)));
    const missing = [...graph].flatMap(([file, targets]) => targets.filter((t) => !resolves(t)).map((t) => `${file} → ${t}`));
    expect(missing).toEqual([]);
  });

  test("no import cycle in controller/, common/, protocol/", () => {
    expect(findCycle(graph)).toBeUndefined();
  });

  test("no import cycle in agent/", () => {
    const agent = new Map(ALL.filter((f) => f.file.startsWith("agent/")).map(({ file, text }) => [file, importsOf(file, text).map((e) => e.target)]));
    expect(findCycle(agent)).toBeUndefined();
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

  test("every file of controller/, agent/, common/, protocol/ imports only what CONTRIBUTING's column allows", () => {
    expect(ALL.flatMap(({ file, text }) => importViolations(file, importsOf(file, text)))).toEqual([]);
  });

  test("the agent's runtime globals (Bun., Deno.) appear only in agent/runtime/", () => {
    expect(ALL.flatMap(({ file, text }) => runtimeGlobalViolations(file, text))).toEqual([]);
  });

  test("the agent (agent/main.ts, transitively) loads no @peculiar/x509, reflect-metadata, client-node", () => {
    const texts = new Map(ALL.map(({ file, text }) => [file, text]));
    const loaded = loadedBy("agent/main.ts", (f) => importsOf(f, texts.get(f) ?? ""));
    expect(loaded).toContain("agent/identity/csr.ts");
    expect(loaded).toContain("pkg:hono");
    expect([...loaded].filter((t) => AGENT_NEVER.includes(t))).toEqual([]);
  });

  test("no agent file imports node:http, node:https or node:stream statically: an Elasticsearch pod's agent, on Bun, loads none of them", () => {
    // Per file, not from main.ts: `bun build` hoists every bundled file's static import of a
    // built-in to the binary's start, even a file only import()ed (the Deno adapter).
    expect(ALL.filter(({ file }) => file.startsWith("agent/")).flatMap(({ file, text }) => lazyOnlyViolations(file, importsOf(file, text)))).toEqual([]);
    // Still reached on demand: Kibana's status reader, the Deno adapter's controller client.
    const texts = new Map(ALL.map(({ file, text }) => [file, text]));
    const all = loadedBy("agent/main.ts", (f) => importsOf(f, texts.get(f) ?? ""));
    expect(LAZY_ONLY.filter((t) => !all.has(t))).toEqual([]);
    expect(loadedBy("agent/main.ts", (f) => importsOf(f, texts.get(f) ?? ""), true)).toContain("pkg:node:tls");
  });

  test("every temporary exception is still needed (remove it once its move has landed)", () => {
    const edges = new Set(ALL.flatMap(({ file, text }) => importsOf(file, text).map((e) => `${file} → ${e.target}`)));
    expect([...TEMPORARY_EXCEPTIONS].filter((e) => !edges.has(e))).toEqual([]);
  });
});

describe("failure idiom", () => {
  test("no catch (e: any), no e?.x or (e as any).x on a caught error, no branch on a message in controller/, agent/, common/, protocol/", () => {
    expect(ALL.flatMap(({ file, text }) => idiomViolations(file, text))).toEqual([]);
  });
});

describe("the checkers can fail", () => {
  test("a forbidden import is flagged: a pure folder reaching a kube client, the agent reaching the controller, a runtime import outside agent/runtime/", () => {
    const policy = "controller/policy/x.ts";
    expect(importViolations(policy, importsOf(policy, `import { Writer } from "../kube/writer.ts";\nimport { log } from "../log.ts";`))).toEqual([
      "controller/policy/x.ts → controller/kube/writer.ts (not in the row of controller/policy/)",
      "controller/policy/x.ts → controller/log.ts (not in the row of controller/policy/)",
    ]);
    const agent = "agent/write/x.ts";
    expect(importViolations(agent, importsOf(agent, `import type { Intent } from "../../controller/intent-api/intent-store.ts";\nimport { serve } from "bun";`))).toEqual([
      "agent/write/x.ts → controller/intent-api/intent-store.ts (not in the row of agent/)",
      "agent/write/x.ts → pkg:bun (runtime-specific: only in agent/runtime/)",
    ]);
    expect(importViolations("controller/kube/x.ts", importsOf("controller/kube/x.ts", `import { kibanaIdentity } from "../reconcile/kibana.ts";`))).toHaveLength(1);
    // kube/ implements the ports of pure folders: their types, not their code.
    expect(importViolations("controller/kube/x.ts", importsOf("controller/kube/x.ts", `import type { OwnerLookup } from "../trust/sources.ts";`))).toEqual([]);
    expect(importViolations("controller/kube/x.ts", importsOf("controller/kube/x.ts", `import { verifyClientCertificateSecrets } from "../trust/sources.ts";`))).toHaveLength(1);
    expect(importViolations("controller/newfolder/x.ts", [])).toEqual([`controller/newfolder/x.ts: no row in CONTRIBUTING's "may import" column (add one, and one here)`]);
    expect(runtimeGlobalViolations("agent/write/x.ts", "const f = Bun.file(p);")).toHaveLength(1);
    const fake: Record<string, string> = { "agent/main.ts": `import { a } from "./a.ts";\nimport type { T } from "../controller/t.ts";`, "agent/a.ts": `import { x509 } from "../common/x509.ts";`, "common/x509.ts": `import "reflect-metadata";` };
    const loaded = loadedBy("agent/main.ts", (f) => importsOf(f, fake[f] ?? ""));
    expect([...loaded].filter((t) => AGENT_NEVER.includes(t))).toEqual(["common/x509.ts", "pkg:reflect-metadata"]);
    expect(loaded).not.toContain("controller/t.ts");
    expect(lazyOnlyViolations("agent/k.ts", importsOf("agent/k.ts", `import * as http from "node:http";\nconst https = await import("node:https");`))).toEqual([
      "agent/k.ts → pkg:node:http (static: import() it where it is used)",
    ]);
    const fakeLazy: Record<string, string> = { "agent/main.ts": `const k = await import("./k.ts");\nimport "./t.ts";`, "agent/t.ts": `import * as tls from "node:tls";` };
    expect([...loadedBy("agent/main.ts", (f) => importsOf(f, fakeLazy[f] ?? ""), true)]).toEqual(["agent/main.ts", "agent/t.ts", "pkg:node:tls"]);
  });

  test("catch (e: any) with e?.code, (e as any).code, and a branch on a message are flagged; the predicates are not", () => {
    expect(idiomViolations("controller/kube/x.ts", "try {\n  await read();\n} catch (e: any) {\n  if (e?.code !== 404) throw e;\n}")).toEqual([
      "controller/kube/x.ts:3: catch (e: any): test the error with kube/api-error.ts's predicates or instanceof",
      `controller/kube/x.ts:3: reads "e?.code" of a caught error: use kube/api-error.ts's predicates, instanceof or a code`,
    ]);
    expect(idiomViolations("agent/x.ts", "try { f(); } catch (err) { if ((err as any).status === 429) retry(); }")).toHaveLength(1);
    expect(idiomViolations("agent/x.ts", "p.catch((e) => log(e?.body))")).toHaveLength(1);
    expect(idiomViolations("agent/x.ts", "try { f(); } catch (e) { if (e instanceof Error && e.message.includes(\"409\")) return; }")).toHaveLength(1);
    expect(idiomViolations("controller/x.ts", "try { f(); } catch (e) { if (!(e instanceof RangeError)) throw e; }")).toHaveLength(1);
    expect(idiomViolations("controller/kube/x.ts", "try { f(); } catch (e) { if (!isNotFound(e)) throw e; log.debug(\"x\", { error: (e as Error).message }); }")).toEqual([]);
  });
});

/** A file over about 300 lines says why at its top (CONTRIBUTING: "No source file is over about 300 lines without a reason"). */
function lengthViolation(file: string, text: string): string | undefined {
  const lines = text.split("\n").length;
  if (lines <= 300) return undefined;
  return /over 300 lines/i.test(text.split("\n").slice(0, 12).join("\n")) ? undefined : `${file}: ${lines} lines and no reason at its top`;
}

describe("file length", () => {
  test("no source file of controller/, agent/, common/, protocol/ is over 300 lines without a reason at its top", () => {
    expect(ALL.flatMap(({ file, text }) => lengthViolation(file, text) ?? [])).toEqual([]);
  });

  test("the check can fail: 301 lines without a reason are flagged, with one they are not", () => {
    const body = Array.from({ length: 300 }, (_, i) => `const x${i} = ${i};`).join("\n");
    expect(lengthViolation("controller/x.ts", `// a file\n${body}`)).toContain("301 lines");
    expect(lengthViolation("controller/x.ts", `// Over 300 lines: the table is one unit.\n${body}`)).toBeUndefined();
  });
});
