// JSON patch (RFC 6902) building blocks for the injection patch.

export interface JsonPatchOp {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

/** Adds `items` to the array at `path`, creating the array when the object has none yet. */
export function appendAll<T>(patch: JsonPatchOp[], path: string, existing: T[] | undefined, items: T[]): void {
  if (existing === undefined) {
    patch.push({ op: "add", path, value: items });
    return;
  }
  for (const item of items) patch.push({ op: "add", path: `${path}/-`, value: item });
}

/** Adds map entries (annotations, labels) at `path`, creating the map when the object has none yet. */
export function addEntries(patch: JsonPatchOp[], path: string, existing: Record<string, string> | undefined, entries: Record<string, string>): void {
  if (!existing) {
    patch.push({ op: "add", path, value: entries });
    return;
  }
  for (const [k, v] of Object.entries(entries)) patch.push({ op: "add", path: `${path}/${escapePointer(k)}`, value: v });
}

function escapePointer(segment: string): string {
  return segment.replace(/~/g, "~0").replace(/\//g, "~1");
}
