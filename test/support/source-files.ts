// Every TypeScript file below a folder (node_modules skipped): what the tests that read the
// project's own code (import rules, dead exports, self-containment) walk.
import { readdirSync } from "node:fs";
import { join } from "node:path";

export function tsFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === "node_modules") return [];
    const path = join(dir, e.name);
    if (e.isDirectory()) return tsFiles(path);
    return /\.tsx?$/.test(e.name) ? [path] : [];
  });
}
