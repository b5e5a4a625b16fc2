// A minimal RFC 6902 applier (add, replace, remove) for unit tests of admission patches: it is
// strict where the apiserver is (missing parents, out-of-range indices throw).
export interface Op {
  op: "add" | "replace" | "remove";
  path: string;
  value?: unknown;
}

export function applyPatch<T>(document: T, ops: Op[]): T {
  const root = { doc: structuredClone(document) as unknown };
  for (const op of ops) {
    const segments = op.path === "" ? [] : op.path.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
    let parent: any = root;
    let key: string = "doc";
    for (const segment of segments) {
      parent = parent[key];
      if (parent === null || typeof parent !== "object") throw new Error(`${op.op} ${op.path}: parent of ${segment} does not exist`);
      key = segment;
    }
    const value = structuredClone(op.value);
    if (Array.isArray(parent)) {
      const index = key === "-" ? parent.length : Number(key);
      if (!Number.isInteger(index) || index < 0 || index > parent.length || (op.op !== "add" && index >= parent.length)) {
        throw new Error(`${op.op} ${op.path}: index ${key} out of range`);
      }
      if (op.op === "add") parent.splice(index, 0, value);
      else if (op.op === "replace") parent[index] = value;
      else parent.splice(index, 1);
    } else {
      if (op.op !== "add" && !(key in parent)) throw new Error(`${op.op} ${op.path}: no such member`);
      if (op.op === "remove") delete parent[key];
      else parent[key] = value;
    }
  }
  return root.doc as T;
}
