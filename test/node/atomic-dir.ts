// The kubelet's atomic writer for Secret, ConfigMap, projected and downward-API
// volumes: files live in a timestamped folder, `..data` is a symlink to it that
// is swapped by rename, and each top-level name is a symlink through `..data`. A
// reader never sees a partial set, and file watchers see one change.
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export interface Payload {
  [relativePath: string]: { content: string | Uint8Array; mode: number };
}

const DATA = "..data";

function digest(p: Payload): string {
  const h = createHash("sha256");
  for (const k of Object.keys(p).sort()) h.update(k).update("\0").update(String(p[k]!.mode)).update("\0").update(p[k]!.content).update("\0");
  return h.digest("hex");
}

/** Writes the payload into dir; returns false (and touches nothing) when it is unchanged. */
export function writeAtomic(dir: string, payload: Payload, last: { digest?: string }): boolean {
  const d = digest(payload);
  if (last.digest === d) return false;
  mkdirSync(dir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[-:T]/g, "_").replace(/\..*/, "");
  const version = `..${stamp}.${Math.random().toString(36).slice(2, 10)}`;
  for (const [rel, f] of Object.entries(payload)) {
    const file = join(dir, version, rel);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, f.content, { mode: f.mode });
  }
  mkdirSync(join(dir, version), { recursive: true });
  const old = existsSync(join(dir, DATA)) ? readlinkSync(join(dir, DATA)) : undefined;
  symlinkSync(version, join(dir, "..data_tmp"));
  renameSync(join(dir, "..data_tmp"), join(dir, DATA));
  // Top-level names point through ..data; names that left the payload are removed.
  const tops = new Set(Object.keys(payload).map((rel) => rel.split("/")[0]!));
  for (const top of tops) {
    const link = join(dir, top);
    if (!isSymlink(link)) symlinkSync(join(DATA, top), link);
  }
  for (const name of readdirSync(dir)) {
    if (name.startsWith("..") || tops.has(name)) continue;
    if (isSymlink(join(dir, name)) && readlinkSync(join(dir, name)).startsWith(DATA + "/")) rmSync(join(dir, name));
  }
  if (old && old !== version) rmSync(join(dir, old), { recursive: true, force: true });
  last.digest = d;
  return true;
}

function isSymlink(p: string): boolean {
  try {
    return lstatSync(p).isSymbolicLink();
  } catch {
    return false;
  }
}
