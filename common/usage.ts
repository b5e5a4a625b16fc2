// The usage text of a binary, from its flag specification (flags.ts): what --help prints, and the
// one line a bad flag adds on stderr.
import { BUILT_IN_FLAGS, type Flag } from "./flags.ts";

const WIDTH = 100;
const INDENT = "      ";

/** The one line shown with a bad flag. */
export function usageLine(program: string): string {
  return `usage: ${program} [--flag=value]...  (--help lists every flag)`;
}

/** How a flag's default reads for people: the literal default, or how it is worked out. */
export function defaultText(flag: Flag): string {
  return flag.shown ?? flag.default ?? (flag.switch ? "false" : "(none)");
}

function wrap(text: string): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/)) {
    if (line && INDENT.length + line.length + 1 + word.length > WIDTH) {
      lines.push(INDENT + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(INDENT + line);
  return lines;
}

/** Every flag with its default and variable, then its description; --help and --version last. */
export function usageText(program: string, flags: readonly Flag[]): string {
  const out = [usageLine(program), "", "A flag wins over its environment variable.", ""];
  for (const flag of [...flags, ...BUILT_IN_FLAGS]) {
    const names = `${flag.short ? `-${flag.short}, ` : ""}--${flag.name}${flag.switch ? "" : "=<value>"}`;
    const builtIn = BUILT_IN_FLAGS.includes(flag);
    const facts = builtIn ? "" : `  (default: ${defaultText(flag)}${flag.env ? `; env ${flag.env}` : ""})`;
    out.push(`  ${names}${facts}`, ...wrap(flag.description));
  }
  return out.join("\n") + "\n";
}
