// deploy/images/*.Dockerfile, read without building them (no podman or docker needed): the build
// stage COPYs every file its `bun build` entry point reaches through relative imports, at the path
// the imports expect (both images once missed common/, which both sides import), and the packages
// it reaches are production dependencies (the deps stage runs `npm ci --omit=dev`). The base images
// are build arguments with defaults, so a plain `docker build` still works.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { builtinModules } from "node:module";
import { basename, dirname, join, posix, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dir, "../..");
const IMAGES = join(ROOT, "deploy", "images");
const DOCKERFILES = readdirSync(IMAGES).filter((f) => f.endsWith(".Dockerfile")).sort();
const PACKAGE = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string>; devDependencies: Record<string, string> };

interface Copy {
  sources: string[];
  dest: string;
}
interface Stage {
  from: string;
  workdir: string;
  copies: Copy[];
  runs: string[];
}
interface Dockerfile {
  /** ARGs before the first FROM, with their defaults: the only ones a FROM may use. */
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
}

/** Instructions (continuation lines joined, comments dropped) grouped into stages. */
function parseDockerfile(text: string): Dockerfile {
  const instructions = text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith("#"));
  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const line of instructions) {
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    const stage = stages.at(-1);
    switch (keyword.toUpperCase()) {
      case "ARG": {
        const [name = "", value] = rest.split("=", 2);
        if (!stage) globalArgs.set(name, value);
        break;
      }
      case "FROM":
        stages.push({ from: rest.split(/\s+/)[0]!, workdir: "/", copies: [], runs: [] });
        break;
      case "WORKDIR":
        if (stage) stage.workdir = posix.resolve(stage.workdir, rest);
        break;
      case "COPY": {
        // A COPY --from=… takes files from another stage or image, not from the repository.
        const words = rest.startsWith("[") ? (JSON.parse(rest) as string[]) : rest.split(/\s+/);
        if (stage && !words.some((w) => w.startsWith("--from="))) {
          const paths = words.filter((w) => !w.startsWith("--"));
          stage.copies.push({ sources: paths.slice(0, -1), dest: paths.at(-1)! });
        }
        break;
      }
      case "RUN":
        stage?.runs.push(rest);
        break;
    }
  }
  return { globalArgs, stages };
}

/** Where a COPY puts a repository file in the image (Docker's rules: a directory's contents go into the destination), if it copies it. */
function copiedTo(copy: Copy, workdir: string, file: string): string | undefined {
  const dest = posix.resolve(workdir, copy.dest);
  const intoDirectory = copy.sources.length > 1 || copy.dest.endsWith("/");
  for (const source of copy.sources.map((s) => posix.normalize(s).replace(/\/$/, ""))) {
    const path = join(ROOT, source);
    if (!existsSync(path)) continue;
    if (statSync(path).isDirectory()) {
      if (source === "." || file.startsWith(`${source}/`)) return posix.join(dest, source === "." ? file : file.slice(source.length + 1));
    } else if (file === source) {
      return intoDirectory ? posix.join(dest, basename(source)) : dest;
    }
  }
  return undefined;
}

/** The relative imports and the package imports of a source text (static, re-exports, side-effect and dynamic). */
function importsOf(text: string): string[] {
  const found = [
    ...text.matchAll(/^[ \t]*(?:import|export)\b[^;]*?\bfrom\s*["']([^"']+)["']/gm),
    ...text.matchAll(/^[ \t]*import\s*["']([^"']+)["']/gm),
    ...text.matchAll(/\bimport\(\s*["']([^"']+)["']\s*\)/g),
  ];
  return found.map((m) => m[1]!);
}

interface Reach {
  /** Repository file → the file that first imported it (the entry point maps to itself). */
  files: Map<string, string>;
  /** Package names imported (builtins left out). */
  packages: Set<string>;
  /** Relative imports that name no file. */
  unresolved: string[];
}

/** Every repository file and package the entry point reaches through its imports, transitively. */
function reach(entry: string): Reach {
  const files = new Map([[entry, entry]]);
  const packages = new Set<string>();
  const unresolved: string[] = [];
  const queue = [entry];
  for (let file = queue.shift(); file !== undefined; file = queue.shift()) {
    if (!file.endsWith(".ts")) continue; // package.json: data, imports nothing
    for (const spec of importsOf(readFileSync(join(ROOT, file), "utf8"))) {
      if (!spec.startsWith(".")) {
        const name = spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : spec.split("/")[0]!;
        if (!spec.startsWith("node:") && !builtinModules.includes(name) && name !== "bun" && !name.startsWith("bun:")) packages.add(name);
        continue;
      }
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (!existsSync(join(ROOT, target))) unresolved.push(`${file} → ${spec}`);
      else if (!files.has(target)) {
        files.set(target, file);
        queue.push(target);
      }
    }
  }
  return { files, packages, unresolved };
}

/** The chain of imports from the entry point to `file`. */
function chain(files: Map<string, string>, file: string): string {
  const path = [file];
  for (let f = file; files.get(f) !== f; f = files.get(f)!) path.unshift(files.get(f)!);
  return path.join(" → ");
}

/** What a Dockerfile's build stage fails to COPY for its entry point, one line per folder reached but not copied where its importers look. */
function missingCopies(dockerfile: string): string[] {
  const { stages } = parseDockerfile(dockerfile);
  const build = stages.find((s) => s.runs.some((r) => /\bbun build\b/.test(r)));
  if (!build) return ["no stage runs `bun build`"];
  const entryArg = build.runs.map((r) => /\bbun build\b.*?\s(\S+\.ts)\b/.exec(r)?.[1]).find(Boolean)!;
  const entry = posix.relative(build.workdir, posix.resolve(build.workdir, entryArg));
  if (!existsSync(join(ROOT, entry))) return [`the entry point ${entryArg} is not ${entry} in the repository`];
  const { files, unresolved } = reach(entry);
  const missing = new Map<string, string[]>();
  for (const file of files.keys()) {
    const at = posix.join(build.workdir, file);
    if (build.copies.some((c) => copiedTo(c, build.workdir, file) === at)) continue;
    const folder = file.includes("/") ? `${dirname(file)}/` : file;
    missing.set(folder, [...(missing.get(folder) ?? []), file]);
  }
  return [
    ...unresolved.map((u) => `unresolved import ${u}`),
    ...[...missing].map(([folder, lost]) => `${folder} is not COPYed to ${posix.join(build.workdir, folder)} (${lost.length} file(s) reached, e.g. ${chain(files, lost[0]!)})`),
  ];
}

describe.each(DOCKERFILES)("deploy/images/%s", (name) => {
  const text = readFileSync(join(IMAGES, name), "utf8");
  const parsed = parseDockerfile(text);
  const build = parsed.stages.find((s) => s.runs.some((r) => /\bbun build\b/.test(r)))!;

  test("the build stage COPYs every folder its entry point reaches through relative imports, where the imports look", () => {
    expect(missingCopies(text)).toEqual([]);
  });

  test("every package the entry point reaches is a production dependency (the deps stage omits dev dependencies)", () => {
    const entry = build.runs.map((r) => /\bbun build\b.*?\s\.\/(\S+\.ts)\b/.exec(r)?.[1]).find(Boolean)!;
    const packages = [...reach(entry).packages].sort();
    expect(packages.length).toBeGreaterThan(0);
    expect(packages.filter((p) => !(p in PACKAGE.dependencies))).toEqual([]);
  });

  test("every base image is a build argument with a default; the build image's Bun is the one package.json pins", () => {
    for (const stage of parsed.stages) {
      const arg = /^\$\{?(\w+)\}?$/.exec(stage.from)?.[1];
      expect({ from: stage.from, isArg: arg !== undefined }).toEqual({ from: stage.from, isArg: true });
      expect({ arg, default: parsed.globalArgs.get(arg!) }).toEqual({ arg, default: expect.stringMatching(/^\S+$/) });
    }
    const buildImage = parsed.globalArgs.get(/^\$\{?(\w+)\}?$/.exec(build.from)![1]!)!;
    expect(buildImage).toStartWith(`oven/bun:${PACKAGE.devDependencies.bun}-`);
  });

  test("the check can fail: without its `COPY common ./common` the image misses common/", () => {
    const without = text.replace(/^COPY common \.\/common\n/m, "");
    expect(without).not.toBe(text);
    // common/'s subfolders (der/) go missing with it, each reported on its own.
    const missing = missingCopies(without);
    expect(missing).toContainEqual(expect.stringMatching(/^common\/ is not COPYed to \/src\/common\/ \(\d+ file\(s\) reached, e\.g\. \S+\/main\.ts → .*common\//));
    expect(missing.filter((m) => !m.startsWith("common/"))).toEqual([]);
    // Copied to the wrong place is missing too: the imports say ../common/, not ../lib/.
    const misplaced = missingCopies(text.replace("COPY common ./common", "COPY common ./lib"));
    expect(misplaced).not.toEqual([]);
    expect(misplaced.filter((m) => !m.startsWith("common/"))).toEqual([]);
  });
});

test("both images are checked", () => {
  expect(DOCKERFILES).toEqual(["agent.Dockerfile", "controller.Dockerfile"]);
});
