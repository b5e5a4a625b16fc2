// A kubelet-AtomicWriter-style publisher for a set of files in one directory.
//
//   dir/..2026_11_28_10_00_00.123456789.ab12cd/   one immutable version of the whole set
//   dir/..data -> ..2026_…                          switched with one rename(2)
//   dir/tls.crt -> ..data/tls.crt                   stable names the workload watches
//
// A reader resolving dir/tls.crt and dir/tls.key always sees the same version, files
// are complete (fsynced, mode and owner set) before they become visible, and a crash at
// any point leaves either the old or the new version behind ..data. recover() cleans up
// what a crash leaves (a stray ..data_tmp, unpublished version dirs, missing links).
//
// The file system calls are synchronous: a write is ~30 of them in a row, and as promises each was a
// round trip through the runtime's thread pool (two thread wake-ups). With 100 agents on 2 busy cores
// every wake-up waited for the scheduler, and the round trips, not the work, made most of the time
// from an intent to its files (issue 21). The volumes are memory-backed, so no call blocks for long.
import * as fs from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { WriteError } from "../errors.ts";

export interface FileSpec {
  name: string; // a plain file name, no slashes, not starting with ".."
  data: string;
}

export interface WriteOptions {
  mode: number;
  uid?: number; // undefined or -1: keep the creating process's owner
  gid?: number;
}

export type WriteResult = "written" | "unchanged";

const DATA = "..data";
const DATA_TMP = "..data_tmp";
const VERSION_RE = /^\.\.\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2}\.\d+\.[0-9a-f]+$/;

export function checkName(name: string): void {
  if (!/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(name) || name.length > 200) {
    throw new WriteError(`file name "${name}" is not a plain file name`);
  }
}

function versionName(): string {
  const d = new Date();
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const stamp = `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
  return `..${stamp}.${p(d.getUTCMilliseconds(), 3)}${String(process.hrtime.bigint() % 1000000n).padStart(6, "0")}.${randomBytes(3).toString("hex")}`;
}

function fsyncDir(dir: string): void {
  const fd = fs.openSync(dir, "r");
  try {
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function readlinkOrNull(p: string): string | null {
  try {
    return fs.readlinkSync(p);
  } catch {
    return null;
  }
}

export class AtomicWriter {
  constructor(readonly dir: string) {}

  /** The version directory ..data points at, or null before the first write. */
  private current(): string | null {
    const target = readlinkOrNull(join(this.dir, DATA));
    return target && VERSION_RE.test(target) ? target : null;
  }

  /** Reads a published file, or null. */
  async read(name: string): Promise<string | null> {
    try {
      return fs.readFileSync(join(this.dir, DATA, name), "utf8");
    } catch {
      return null;
    }
  }

  /** Names published in the current version. */
  publishedNames(): string[] {
    const cur = this.current();
    if (!cur) return [];
    return fs.readdirSync(join(this.dir, cur)).sort();
  }

  /**
   * Repairs what an interrupted write leaves behind: removes ..data_tmp and version
   * directories that ..data does not point at, and (re)creates missing user links.
   */
  async recover(): Promise<{ removed: string[] }> {
    fs.mkdirSync(this.dir, { recursive: true });
    const removed: string[] = [];
    const cur = this.current();
    for (const entry of fs.readdirSync(this.dir)) {
      if (entry === DATA_TMP || /^\.\..+\.tmp$/.test(entry) || (VERSION_RE.test(entry) && entry !== cur)) {
        fs.rmSync(join(this.dir, entry), { recursive: true, force: true });
        removed.push(entry);
      }
    }
    if (cur) this.linkNames(this.publishedNames());
    if (removed.length) fsyncDir(this.dir);
    return { removed };
  }

  /** Publishes `files` as the complete new set; a no-op when content, mode and owner already match. */
  async write(files: FileSpec[], opts: WriteOptions): Promise<WriteResult> {
    for (const f of files) {
      checkName(f.name);
      if (f.data.length === 0) throw new WriteError(`refusing to write an empty ${f.name}`);
    }
    if (new Set(files.map((f) => f.name)).size !== files.length) throw new WriteError("duplicate file names in one set");
    fs.mkdirSync(this.dir, { recursive: true });
    if (this.unchanged(files, opts)) return "unchanged";

    const version = versionName();
    const vdir = join(this.dir, version);
    fs.mkdirSync(vdir, { mode: 0o755 });
    // mkdir's mode is masked by the umask; set it explicitly so the workload's group can list it.
    fs.chmodSync(vdir, 0o755);
    for (const f of files) {
      const fd = fs.openSync(join(vdir, f.name), "wx", 0o600);
      try {
        fs.writeFileSync(fd, f.data);
        fs.fchmodSync(fd, opts.mode);
        if (wantsChown(opts)) fs.fchownSync(fd, opts.uid ?? -1, opts.gid ?? -1);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    fsyncDir(vdir);

    // Links that will not exist in the new version go first, so no reader ever sees a dangling link.
    const keep = new Set(files.map((f) => f.name));
    for (const name of this.publishedNames()) {
      if (!keep.has(name)) fs.rmSync(join(this.dir, name), { force: true });
    }

    const tmp = join(this.dir, DATA_TMP);
    fs.rmSync(tmp, { force: true });
    fs.symlinkSync(version, tmp);
    fs.renameSync(tmp, join(this.dir, DATA));
    fsyncDir(this.dir);

    this.linkNames([...keep]);
    for (const entry of fs.readdirSync(this.dir)) {
      if (VERSION_RE.test(entry) && entry !== version) fs.rmSync(join(this.dir, entry), { recursive: true, force: true });
    }
    return "written";
  }

  private linkNames(names: string[]): void {
    for (const name of names) {
      const p = join(this.dir, name);
      const want = `${DATA}/${name}`;
      if (readlinkOrNull(p) === want) continue;
      // Replace whatever is there (a stale regular file, a wrong link) atomically.
      const tmp = join(this.dir, `..${name}.tmp`);
      fs.rmSync(tmp, { force: true });
      fs.symlinkSync(want, tmp);
      fs.renameSync(tmp, p);
    }
  }

  private unchanged(files: FileSpec[], opts: WriteOptions): boolean {
    const names = this.publishedNames();
    if (names.join("\0") !== files.map((f) => f.name).sort().join("\0")) return false;
    for (const f of files) {
      const p = join(this.dir, DATA, f.name);
      try {
        const st = fs.statSync(p);
        if ((st.mode & 0o7777) !== opts.mode) return false;
        if (opts.uid !== undefined && opts.uid !== -1 && st.uid !== opts.uid) return false;
        if (opts.gid !== undefined && opts.gid !== -1 && st.gid !== opts.gid) return false;
        if (fs.readFileSync(p, "utf8") !== f.data) return false;
        if (readlinkOrNull(join(this.dir, f.name)) !== `${DATA}/${f.name}`) return false;
      } catch {
        return false;
      }
    }
    return true;
  }
}

function wantsChown(o: WriteOptions): boolean {
  return (o.uid !== undefined && o.uid !== -1) || (o.gid !== undefined && o.gid !== -1);
}
