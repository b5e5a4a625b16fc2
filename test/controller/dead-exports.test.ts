// No dead exports: every `export` of a source file (controller/, agent/, common/, protocol/) is
// imported by another file: a source, a test, a bench or a script. An export only its own file uses is
// un-exported; one nobody uses is deleted. Imports are resolved to files, so two exports of the
// same name in different files count apart; a namespace import (`* as ns`), `export *` or a
// dynamic `import()` uses every export of its file whose name it mentions.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { tsFiles } from "../support/source-files.ts";

const ROOT = resolve(import.meta.dir, "../..");
const SOURCES = ["controller", "agent", "common", "protocol"];
const CONSUMERS = [...SOURCES, "test", "bench", "scripts"];

/** Comments blanked, so an `export` in a comment is not one. */
const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");

/** Names a source text exports (declarations and `export { … }`, re-exports included). */
function exportsOf(text: string): string[] {
  const names: string[] = [];
  for (const m of text.matchAll(/^export\s+(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|var|function\*?|class|type|interface|enum)\s+([\w$]+)/gm)) names.push(m[1]!);
  for (const m of text.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}/gm)) {
    for (const spec of m[1]!.split(",").map((s) => s.trim()).filter(Boolean)) names.push(spec.replace(/^type\s+/, "").split(/\s+as\s+/).pop()!.trim());
  }
  if (/^export\s+default\b/m.test(text)) names.push("default");
  return names;
}

interface Use {
  /** The file imported from (relative to the root). */
  from: string;
  /** The names taken, or "*" with the consumer's text for a namespace / dynamic import. */
  names: string[] | { mentionedIn: string };
}

function usesOf(file: string, text: string): Use[] {
  const at = (spec: string) => relative(ROOT, resolve(dirname(file), spec));
  const uses: Use[] = [];
  for (const m of text.matchAll(/^[ \t]*(?:import|export)\s+(?:type\s+)?(\{[^}]*\}|\*(?:\s+as\s+[\w$]+)?|[\w$]+(?:\s*,\s*(?:\{[^}]*\}|\*\s+as\s+[\w$]+))?)\s*from\s*"(\.[^"]+)"/gm)) {
    const clause = m[1]!;
    const from = at(m[2]!);
    if (clause.includes("*")) {
      uses.push({ from, names: { mentionedIn: text } });
      continue;
    }
    const names: string[] = [];
    const braces = /\{([^}]*)\}/.exec(clause);
    if (braces) for (const spec of braces[1]!.split(",").map((s) => s.trim()).filter(Boolean)) names.push(spec.replace(/^type\s+/, "").split(/\s+as\s+/)[0]!.trim());
    if (/^[\w$]+/.test(clause) && !clause.startsWith("{")) names.push("default");
    uses.push({ from, names });
  }
  for (const m of text.matchAll(/\bimport\(\s*"(\.[^"]+)"\s*\)/g)) uses.push({ from: at(m[1]!), names: { mentionedIn: text } });
  return uses;
}

/** "file: name" for every export no other file imports. */
function deadExports(): string[] {
  const consumers = CONSUMERS.flatMap((d) => tsFiles(join(ROOT, d))).map((f) => ({ file: relative(ROOT, f), text: code(readFileSync(f, "utf8")) }));
  const used = new Map<string, Set<string>>();
  const mentioned = new Map<string, string[]>();
  for (const { file, text } of consumers) {
    for (const use of usesOf(join(ROOT, file), text)) {
      if (use.from === file) continue;
      if (Array.isArray(use.names)) {
        const set = used.get(use.from) ?? new Set();
        for (const n of use.names) set.add(n);
        used.set(use.from, set);
      } else {
        mentioned.set(use.from, [...(mentioned.get(use.from) ?? []), use.names.mentionedIn]);
      }
    }
  }
  return consumers
    .filter(({ file }) => SOURCES.some((d) => file.startsWith(`${d}/`)))
    .flatMap(({ file, text }) =>
      exportsOf(text)
        .filter((name) => !used.get(file)?.has(name) && !(mentioned.get(file) ?? []).some((t) => new RegExp(`\\b${name.replace("$", "\\$")}\\b`).test(t)))
        .map((name) => `${file}: ${name}`),
    );
}

describe("exports", () => {
  test("every export of controller/, agent/, common/, protocol/ is imported by another source, test, bench or script file", () => {
    expect(deadExports()).toEqual([]);
  });
});
