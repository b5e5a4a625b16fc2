// OBJECT IDENTIFIER contents (X.690 §8.19): base-128 arcs, the first two folded into one.

export function encodeOid(dotted: string): Uint8Array<ArrayBuffer> {
  const arcs = dotted.split(".").map(Number);
  if (arcs.length < 2 || arcs.some((a) => !Number.isSafeInteger(a) || a < 0)) throw new Error(`not an object identifier: "${dotted}"`);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const septets = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) septets.unshift(0x80 | (v & 0x7f));
    out.push(...septets);
  }
  return Uint8Array.from(out);
}

/** The dotted form of OID contents; undefined when they are not a well-formed OID. */
export function decodeOid(contents: Uint8Array): string | undefined {
  const arcs: number[] = [];
  let v = 0;
  for (let i = 0; i < contents.length; i++) {
    const b = contents[i]!;
    if (v === 0 && b === 0x80) return undefined; // a non-minimal arc
    v = v * 128 + (b & 0x7f);
    if (!Number.isSafeInteger(v)) return undefined;
    if (b & 0x80) continue;
    if (arcs.length === 0) arcs.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
    else arcs.push(v);
    v = 0;
  }
  if (arcs.length === 0 || contents[contents.length - 1]! & 0x80) return undefined;
  return arcs.join(".");
}
