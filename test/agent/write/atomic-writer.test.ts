// agent/write/atomic-writer.ts: the ..data symlink swap as the kubelet does it, crash leftovers, racing readers.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { AtomicWriter } from "../../../agent/write/atomic-writer.ts";
import { killAll, tmpDir } from "../../support/agent-harness.ts";

afterAll(killAll); // removes the scratch dirs
const mkdir = () => tmpDir("unit");

// Resolves ..data once, as a reader holding the directory would, then reads both files; reports any
// pair from two versions. Writes STOP.seen once it has read 5 distinct versions.
const READER = `
const fs = require("node:fs"), { join } = require("node:path");
const d = process.env.D, stop = process.env.STOP;
let reads = 0; const mixed = [], versions = new Set();
while (!fs.existsSync(stop)) {
  try {
    const v = fs.readlinkSync(join(d, "..data"));
    const c = fs.readFileSync(join(d, v, "tls.crt"), "utf8").split(" ")[1] ?? "(empty)";
    const k = fs.readFileSync(join(d, v, "tls.key"), "utf8").split(" ")[1] ?? "(empty)";
    if (c !== k) mixed.push(c.trim() + "/" + k.trim());
    reads++;
    if (!versions.has(c) && versions.add(c).size === 5) fs.writeFileSync(stop + ".seen", "");
  } catch (e) {
    if (e.code !== "ENOENT") throw e; // the old version removed under us: read again
  }
}
console.log(JSON.stringify({ reads, versions: versions.size, mixed }));
`;

describe("atomic writer", () => {
  const set = (v: string) => [
    { name: "ca.crt", data: `bundle ${v}\n` },
    { name: "tls.crt", data: `cert ${v}\n` },
    { name: "tls.key", data: `key ${v}\n` },
  ];
  test("publishes through ..data links with the mode, skips no-op writes, removes old versions", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    expect(await w.write(set("1"), { mode: 0o440 })).toBe("written");
    for (const n of ["ca.crt", "tls.crt", "tls.key"]) {
      expect(fs.readlinkSync(join(d, n))).toBe(`..data/${n}`);
      expect(fs.statSync(join(d, n)).mode & 0o777).toBe(0o440);
    }
    const v1 = fs.readlinkSync(join(d, "..data"));
    expect(await w.write(set("1"), { mode: 0o440 })).toBe("unchanged");
    expect(fs.readlinkSync(join(d, "..data"))).toBe(v1);
    expect(await w.write(set("1"), { mode: 0o400 })).toBe("written"); // a mode change is a change
    expect(await w.write(set("2"), { mode: 0o400 })).toBe("written");
    expect(fs.readFileSync(join(d, "tls.key"), "utf8")).toBe("key 2\n");
    expect(fs.readdirSync(d).filter((e) => e.startsWith("..2")).length).toBe(1);
    expect(fs.existsSync(join(d, v1))).toBe(false);
  });
  test("a write is one pass on the event loop: no turn of it runs between its file system calls (issue 21)", async () => {
    // As promises, each of a write's ~30 calls was a thread-pool round trip, and under CPU contention
    // every round trip waited for the scheduler; a turn of the loop in between shows one.
    const w = new AtomicWriter(mkdir());
    await w.recover();
    const seen: Array<{ result: string; turns: number }> = [];
    for (const v of ["1", "1", "2"]) {
      let turns = 0;
      let writing = true;
      const tick = () => {
        turns++;
        if (writing) setImmediate(tick);
      };
      setImmediate(tick);
      const result = await w.write(set(v), { mode: 0o440 });
      writing = false;
      seen.push({ result, turns });
    }
    expect(seen).toEqual([
      { result: "written", turns: 0 },
      { result: "unchanged", turns: 0 },
      { result: "written", turns: 0 },
    ]);
  });
  test("dropping a file removes its link without leaving it dangling", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("1"), { mode: 0o440 });
    await w.write(set("2").slice(1), { mode: 0o440 });
    expect(fs.existsSync(join(d, "ca.crt"))).toBe(false);
    expect(() => fs.lstatSync(join(d, "ca.crt"))).toThrow();
  });
  test("refuses empty files and unsafe names", async () => {
    const w = new AtomicWriter(mkdir());
    await expect(w.write([{ name: "tls.crt", data: "" }], { mode: 0o440 })).rejects.toThrow(/refusing to write an empty tls.crt/);
    await expect(w.write([{ name: "../x", data: "a" }], { mode: 0o440 })).rejects.toThrow(/not a plain file name/);
    await expect(w.write([{ name: "..data", data: "a" }], { mode: 0o440 })).rejects.toThrow(/not a plain file name/);
  });
  test("recover() removes crash leftovers and restores missing links", async () => {
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("1"), { mode: 0o440 });
    const cur = fs.readlinkSync(join(d, "..data"));
    // Simulate a crash mid-write: a half-written version dir, a dangling ..data_tmp, a lost link.
    fs.mkdirSync(join(d, "..2026_01_01_00_00_00.000000001.abcdef"));
    fs.writeFileSync(join(d, "..2026_01_01_00_00_00.000000001.abcdef", "tls.crt"), "partial");
    fs.symlinkSync("..2026_01_01_00_00_00.000000001.abcdef", join(d, "..data_tmp"));
    fs.unlinkSync(join(d, "tls.key"));
    const { removed } = await new AtomicWriter(d).recover();
    expect(removed.sort()).toEqual(["..2026_01_01_00_00_00.000000001.abcdef", "..data_tmp"].sort());
    expect(fs.readlinkSync(join(d, "..data"))).toBe(cur);
    expect(fs.readFileSync(join(d, "tls.key"), "utf8")).toBe("key 1\n");
  });
  test("a reader never sees a mixed set while writes race", async () => {
    // The reader is another process: the writer's calls are synchronous, so a reader on the same
    // event loop would only ever run between two writes.
    const d = mkdir();
    const stopFile = join(mkdir(), "stop");
    const w = new AtomicWriter(d);
    await w.write(set("0"), { mode: 0o440 });
    const reader = Bun.spawn([process.execPath, "-e", READER], { env: { ...process.env, D: d, STOP: stopFile }, stdout: "pipe", stderr: "inherit" });
    const out = new Response(reader.stdout).text();
    const started = Date.now();
    // Keep writing until the reader has seen several versions (or 20 s on a starved machine).
    for (let i = 1; i <= 50 || (i < 5000 && Date.now() - started < 20_000 && !fs.existsSync(`${stopFile}.seen`)); i++) await w.write(set(String(i)), { mode: 0o440 });
    fs.writeFileSync(stopFile, "");
    const result = JSON.parse(await out) as { reads: number; versions: number; mixed: string[] };
    expect(result.mixed).toEqual([]);
    expect(result.versions).toBeGreaterThan(1);
  });

});
