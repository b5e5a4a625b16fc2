// Summarises a V8/JSC .cpuprofile (bun --cpu-prof): the functions with the most self time and
// the most inclusive time, and inclusive time by package. Run:
//   npx bun bench/support/cpuprofile-summary.ts FILE.cpuprofile [--top=25] [--last-s=N]
// (--last-s: only the samples of the profile's last N seconds, e.g. bench/controller-scale.ts's
//  no-op resync window, which ends when the controller is stopped)
import { readFileSync } from "node:fs";

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }
const file = process.argv[2]!;
const top = Number(process.argv.find((a) => a.startsWith("--top="))?.split("=")[1] ?? 25);
const lastS = Number(process.argv.find((a) => a.startsWith("--last-s="))?.split("=")[1] ?? Infinity);
const profile = JSON.parse(readFileSync(file, "utf8")) as { nodes: Node[]; samples: number[]; timeDeltas?: number[] };
if (Number.isFinite(lastS) && profile.timeDeltas) {
  // Sample times are the running sum of timeDeltas (µs); keep those within lastS of the last one.
  const at: number[] = [];
  let t = 0;
  for (const d of profile.timeDeltas) at.push((t += d));
  const from = t - lastS * 1e6;
  profile.samples = profile.samples.filter((_, i) => at[i]! >= from);
}
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const total = profile.samples.length;
const shortUrl = (u: string) => u.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*?\/(controller|common|protocol|agent)\//, "$1/");
const pkg = (u: string) => (/node_modules\/((@[^/]+\/)?[^/]+)/.exec(u)?.[1] ?? (/(controller|common|protocol|agent)\/[^/]+/.exec(u)?.[0] ?? (u ? "other" : "(native)")));

const self = new Map<string, number>();
const inclusive = new Map<string, number>();
const byPackage = new Map<string, number>();
for (const id of profile.samples) {
  const n = nodes.get(id)!;
  const key = `${n.callFrame.functionName || "(anonymous)"} ${shortUrl(n.callFrame.url)}:${n.callFrame.lineNumber}`;
  self.set(key, (self.get(key) ?? 0) + 1);
  const seen = new Set<string>();
  const seenPkg = new Set<string>();
  for (let x: number | undefined = id; x !== undefined; x = parent.get(x)) {
    const f = nodes.get(x)!.callFrame;
    const k = `${f.functionName || "(anonymous)"} ${shortUrl(f.url)}`;
    if (!seen.has(k)) inclusive.set(k, (inclusive.get(k) ?? 0) + 1), seen.add(k);
    const p = pkg(f.url);
    if (f.url && !seenPkg.has(p)) byPackage.set(p, (byPackage.get(p) ?? 0) + 1), seenPkg.add(p);
  }
}
const show = (title: string, m: Map<string, number>) => {
  console.log(`--- ${title}`);
  for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${((100 * v) / total).toFixed(1).padStart(5)}%  ${k}`);
};
console.log(`${total} samples`);
show("self", self);
show("inclusive", inclusive);
show("inclusive by package / source folder", byPackage);
