// agent/write/atomic-writer.ts: the ..data symlink swap as the kubelet does it, crash leftovers, racing readers.
import { afterAll, describe, expect, test } from "bun:test";
import * as fs from "node:fs";
import { join } from "node:path";
import { AtomicWriter } from "../../../agent/write/atomic-writer.ts";
import { killAll, tmpDir } from "../../support/agent-harness.ts";

afterAll(killAll); // removes the scratch dirs
const mkdir = () => tmpDir("unit");

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
    const d = mkdir();
    const w = new AtomicWriter(d);
    await w.write(set("0"), { mode: 0o440 });
    let stop = false;
    let reads = 0;
    const reader = (async () => {
      while (!stop) {
        // Resolve ..data once, as a reader holding the directory would, then read both files.
        try {
          const v = fs.readlinkSync(join(d, "..data"));
          const c = fs.readFileSync(join(d, v, "tls.crt"), "utf8").split(" ")[1];
          const k = fs.readFileSync(join(d, v, "tls.key"), "utf8").split(" ")[1];
          expect(c).toBe(k!);
          reads++;
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== "ENOENT") throw e; // old version removed under us: retry
        }
        await new Promise((r) => setImmediate(r)); // yield to the event loop so the writer progresses
      }
    })();
    for (let i = 1; i <= 50; i++) await w.write(set(String(i)), { mode: 0o440 });
    stop = true;
    await reader;
    expect(reads).toBeGreaterThan(0);
    expect(fs.readFileSync(join(d, "tls.crt"), "utf8")).toBe("cert 50\n");
  });
});
