// Where the image builder keeps what it made, and the keys that name it. Every artefact (the
// debootstrap root file system, the Node and npm tarballs, each base image, each built image) is
// named by a hash of its inputs, so a warm run finds everything and pays nothing, and a changed
// input (a source file, package-lock.json, the Bun version, a base image) builds anew.
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { join, relative } from "node:path";

/** ~/.cache/es-mtls/images, beside the control plane's cache (ES_MTLS_CACHE_DIR moves both). */
export function imagesCacheDir(): string {
  const base = process.env.ES_MTLS_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "es-mtls");
  return join(base, "images");
}

/** A short key over named inputs: strings, or files and directories (every file under them, by path and content). */
export function inputsKey(inputs: Array<{ text: string } | { path: string; root?: string }>): string {
  const h = createHash("sha256");
  const addPath = (path: string, root: string) => {
    const st = statSync(path, { throwIfNoEntry: false });
    const name = relative(root, path);
    if (!st) throw new Error(`cache key input ${path} does not exist`);
    if (st.isDirectory()) {
      for (const entry of readdirSync(path).sort()) addPath(join(path, entry), root);
      return;
    }
    h.update(`file ${name}\0`).update(readFileSync(path)).update("\0");
  };
  for (const input of inputs) {
    if ("text" in input) h.update(`text\0${input.text}\0`);
    else addPath(input.path, input.root ?? input.path);
  }
  return h.digest("hex").slice(0, 16);
}

/** The repository paths a Dockerfile COPYs from its build context (a COPY --from=… reads another stage). */
export function dockerfileSources(text: string): string[] {
  const sources = new Set<string>();
  for (const line of text.replace(/\\\n/g, " ").split("\n").map((l) => l.trim())) {
    const m = /^COPY\s+(.*)$/i.exec(line);
    if (!m) continue;
    const words = m[1]!.startsWith("[") ? (JSON.parse(m[1]!) as string[]) : m[1]!.split(/\s+/);
    if (words.some((w) => w.startsWith("--from="))) continue;
    for (const source of words.filter((w) => !w.startsWith("--")).slice(0, -1)) sources.add(source.replace(/\/$/, ""));
  }
  return [...sources].sort();
}
