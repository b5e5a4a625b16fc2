// Summarises a V8-format heap snapshot (as written by bench/support/memory-probe.ts with
// $ES_MTLS_MEMORY_PROBE_SNAPSHOT): objects and self size per type/constructor, and for the kinds
// asked (strings, ArrayBuffers, …) what retains them: the retainer's constructor and the edge name,
// one and two levels up, so a count like "391 k strings" can be attributed to the state holding them.
// Run: npx bun bench/support/heap-snapshot-summary.ts FILE [--top=25] [--retainers=string,ArrayBuffer,Date]
// Prints one JSON object.
import { readFileSync } from "node:fs";

const file = process.argv[2];
if (!file) throw new Error("usage: heap-snapshot-summary.ts FILE [--top=N] [--retainers=a,b]");
const argOf = (name: string) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split("=")[1];
const TOP = Number(argOf("top") ?? 25);
const RETAINED = (argOf("retainers") ?? "string,ArrayBuffer,Uint8Array,Date,Object,Array").split(",");

const snap = JSON.parse(readFileSync(file, "utf8")) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[]; edge_types: [string[]] }; node_count: number };
  nodes: number[];
  edges: number[];
  strings: string[];
};
const { meta } = snap.snapshot;
const NF = meta.node_fields.length;
const EF = meta.edge_fields.length;
const nType = meta.node_fields.indexOf("type");
const nName = meta.node_fields.indexOf("name");
const nSize = meta.node_fields.indexOf("self_size");
const nEdges = meta.node_fields.indexOf("edge_count");
const eType = meta.edge_fields.indexOf("type");
const eName = meta.edge_fields.indexOf("name_or_index");
const eTo = meta.edge_fields.indexOf("to_node");
const nodeTypes = meta.node_types[0];
const edgeTypes = meta.edge_types[0];
const count = snap.nodes.length / NF;

/** A node's kind: its constructor name for objects, its type for strings and the like. */
const kind = (i: number) => {
  const t = nodeTypes[snap.nodes[i * NF + nType]!]!;
  return t === "object" || t === "native" || t === "closure" ? snap.strings[snap.nodes[i * NF + nName]!]! : t;
};

const byKind = new Map<string, { count: number; bytes: number }>();
for (let i = 0; i < count; i++) {
  const k = kind(i);
  const e = byKind.get(k) ?? { count: 0, bytes: 0 };
  e.count++;
  e.bytes += snap.nodes[i * NF + nSize]!;
  byKind.set(k, e);
}

// Retainers: for every edge, the parent of its target (weak edges skipped).
const parents: number[][] = Array.from({ length: count }, () => []);
const edgeLabel = new Map<string, string>();
let edge = 0;
for (let i = 0; i < count; i++) {
  const n = snap.nodes[i * NF + nEdges]!;
  for (let j = 0; j < n; j++, edge++) {
    const t = edgeTypes[snap.edges[edge * EF + eType]!]!;
    if (t === "weak" || t === "shortcut") continue;
    const to = snap.edges[edge * EF + eTo]! / NF;
    parents[to]!.push(i);
    const nameOrIndex = snap.edges[edge * EF + eName]!;
    if (!edgeLabel.has(`${i}>${to}`)) edgeLabel.set(`${i}>${to}`, t === "element" || t === "hidden" ? `[${t}]` : String(snap.strings[nameOrIndex] ?? nameOrIndex));
  }
}

const top = (m: Map<string, number>) => Object.fromEntries([...m].sort((a, b) => b[1] - a[1]).slice(0, TOP));
const retainers: Record<string, { oneUp: Record<string, number>; twoUp: Record<string, number> }> = {};
for (const want of RETAINED) {
  const one = new Map<string, number>();
  const two = new Map<string, number>();
  for (let i = 0; i < count; i++) {
    if (kind(i) !== want) continue;
    const p = parents[i]![0];
    if (p === undefined) continue;
    const a = `${kind(p)}.${edgeLabel.get(`${p}>${i}`)}`;
    one.set(a, (one.get(a) ?? 0) + 1);
    const g = parents[p]![0];
    const b = g === undefined ? a : `${kind(g)}.${edgeLabel.get(`${g}>${p}`)} > ${a}`;
    two.set(b, (two.get(b) ?? 0) + 1);
  }
  retainers[want] = { oneUp: top(one), twoUp: top(two) };
}

console.log(JSON.stringify({
  nodes: count,
  byKind: Object.fromEntries([...byKind].sort((a, b) => b[1].bytes - a[1].bytes).slice(0, TOP)),
  byCount: Object.fromEntries([...byKind].sort((a, b) => b[1].count - a[1].count).slice(0, TOP).map(([k, v]) => [k, v.count])),
  retainers,
}, null, 2));
