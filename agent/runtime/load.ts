// Picks the adapter of the runtime we are on. Both are imported lazily so neither
// runtime parses the other's globals; only main.ts imports this file.
import { UnsupportedRuntime } from "../errors.ts";
import type { RuntimeAdapter } from "./contract.ts";

function isDeno(): boolean {
  return typeof (globalThis as { Deno?: unknown }).Deno !== "undefined";
}

export async function loadAdapter(): Promise<RuntimeAdapter> {
  if (isDeno()) return (await import("./deno.ts")).denoAdapter;
  if (typeof (globalThis as { Bun?: unknown }).Bun !== "undefined") return (await import("./bun.ts")).bunAdapter;
  throw new UnsupportedRuntime("unsupported runtime: es-mtls agent runs on Bun or Deno");
}
