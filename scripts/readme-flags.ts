// The README's flag tables, written from the flag specifications (controller/config.ts's
// CONTROLLER_FLAGS, agent/config.ts's AGENT_FLAGS) between their markers, so the README cannot
// document a flag, default or variable the binaries do not have. `npm run readme-flags` rewrites
// README.md; test/scripts/readme-flags.test.ts fails while it differs from what this would write.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { AGENT_FLAGS } from "../agent/config.ts";
import { BUILT_IN_FLAGS, type Flag } from "../common/flags.ts";
import { defaultText } from "../common/usage.ts";
import { CONTROLLER_FLAGS } from "../controller/config.ts";

export const README = join(import.meta.dir, "..", "README.md");

/** Marker name → the flags its table lists. */
const TABLES: Record<string, readonly Flag[]> = { controller: CONTROLLER_FLAGS, agent: AGENT_FLAGS };

const cell = (text: string) => text.replaceAll("|", "\\|");
/** Outside code, `<service-name>` would be read as an HTML tag. */
const plain = (text: string) => text.replaceAll("<", "&lt;").replaceAll(">", "&gt;");
const code = (text: string) => (text ? `\`${text}\`` : "");

/** One markdown table: every flag with its variable, its default and what it does; --help and --version last. */
export function flagTable(flags: readonly Flag[]): string {
  const rows = [...flags, ...BUILT_IN_FLAGS].map((f) => {
    const names = [...(f.short ? [`-${f.short}`] : []), `--${f.name}`].map(code).join(", ");
    const builtIn = BUILT_IN_FLAGS.includes(f);
    const dflt = builtIn ? "" : f.shown !== undefined ? plain(f.shown) : code(defaultText(f));
    return `| ${names} | ${code(f.env ?? "")} | ${cell(dflt)} | ${cell(f.description)} |`;
  });
  return ["| flag | environment variable | default | meaning |", "| --- | --- | --- | --- |", ...rows].join("\n");
}

/** `readme` with the text between each `<!-- flags:NAME -->` and `<!-- /flags:NAME -->` replaced by NAME's table. */
export function withFlagTables(readme: string): string {
  let out = readme;
  for (const [name, flags] of Object.entries(TABLES)) {
    const open = `<!-- flags:${name} -->`;
    const close = `<!-- /flags:${name} -->`;
    const start = out.indexOf(open);
    const end = out.indexOf(close);
    if (start < 0 || end < start) throw new Error(`README.md has no ${open} … ${close} section`);
    out = `${out.slice(0, start + open.length)}\n${flagTable(flags)}\n${out.slice(end)}`;
  }
  return out;
}

if (import.meta.main) writeFileSync(README, withFlagTables(readFileSync(README, "utf8")));
