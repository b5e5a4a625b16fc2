// The agent as shipped loads none of the controller's libraries (issue 21: its memory is paid in
// every pod). Bun: the modules the compiled binary bundles, from the build's metafile (the same
// flags as the shipped build). Deno: the module graph `deno info` resolves from agent/main.ts.
import { expect, test } from "bun:test";
import { spawn } from "bun";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BUN, DENO, REPO } from "../../support/agent-harness.ts";

const NEVER = /node_modules\/(@peculiar\/|reflect-metadata\/|@kubernetes\/|asn1js\/|tsyringe\/)/;

interface MetaInput {
  imports: { original?: string; kind: string; external?: boolean }[];
}

test("the compiled Bun binary bundles hono and the agent, nothing of @peculiar/x509, reflect-metadata, client-node, and node:http(s)/node:stream only behind import()", async () => {
  const dir = mkdtempSync(join(tmpdir(), "agent-modules-"));
  try {
    const meta = join(dir, "meta.json");
    const p = spawn([BUN, "build", "--compile", "--minify", join(REPO, "agent/main.ts"), "--outfile", join(dir, "agent"), `--metafile=${meta}`], { cwd: REPO, stdout: "pipe", stderr: "pipe" });
    expect(await p.exited).toBe(0);
    const metaInputs = (JSON.parse(readFileSync(meta, "utf8")) as { inputs: Record<string, MetaInput> }).inputs;
    const inputs = Object.keys(metaInputs);
    expect(inputs).toContain("agent/identity/csr.ts");
    expect(inputs.some((i) => i.includes("node_modules/hono/"))).toBe(true);
    expect(inputs.filter((i) => NEVER.test(i))).toEqual([]);
    // The bundler hoists a static import of a built-in to the binary's start, even in a file only
    // import()ed (the Deno adapter), so Kibana's and Deno's built-ins must be import()ed themselves.
    const lazy = Object.entries(metaInputs).flatMap(([file, { imports }]) => imports.filter((i) => i.external && /^node:(http|https|stream)$/.test(i.original ?? "")).map((i) => `${file} ${i.original} ${i.kind}`));
    expect(lazy).toContain("agent/prove/kibana.ts node:http dynamic-import");
    expect(lazy.filter((l) => !l.endsWith(" dynamic-import"))).toEqual([]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);

test("Deno's module graph of agent/main.ts reaches hono and nothing of @peculiar/x509, reflect-metadata, client-node", async () => {
  const p = spawn([DENO, "info", "--json", join(REPO, "agent/main.ts")], { cwd: REPO, stdout: "pipe", stderr: "pipe", env: { ...process.env, DENO_NO_UPDATE_CHECK: "1" } });
  const info = JSON.parse(await new Response(p.stdout).text()) as { modules: { specifier: string }[] };
  expect(await p.exited).toBe(0);
  const specifiers = info.modules.map((m) => m.specifier);
  expect(specifiers.some((s) => s.endsWith("/agent/identity/csr.ts"))).toBe(true);
  expect(specifiers.some((s) => s.includes("node_modules/hono/"))).toBe(true);
  expect(specifiers.filter((s) => NEVER.test(s))).toEqual([]);
}, 60_000);
