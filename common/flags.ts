// One flag specification per binary: the command-line parser here, the usage text (usage.ts) and
// the README's flag tables (scripts/readme-flags.ts) all read it, so a flag cannot be documented
// with another default or variable than it has. node:util's parseArgs splits the command line the
// same way on Node, Bun and Deno; what is wrong with it is returned as data, and each binary words
// it in its own error class.
import { parseArgs } from "node:util";

export interface Flag {
  /** Without the dashes: "health-port". */
  name: string;
  /** The value used when neither the flag nor its variable is set; absent when there is none or it is worked out (`shown` says how). */
  default?: string;
  /** How the default reads for people when it is not the literal `default`: "(required)", "$POD_NAME or hostname". */
  shown?: string;
  /** The environment variable read when the flag is absent. */
  env?: string;
  description: string;
  /** May stand alone meaning "true" (`--once`); `--once=false` still works. */
  switch?: boolean;
  /** One letter for `-x`. */
  short?: string;
}

/** Every binary's --help and --version: answered before the configuration is read. */
export const BUILT_IN_FLAGS: readonly Flag[] = [
  { name: "help", short: "h", description: "print every flag with its default and environment variable, then exit 0", switch: true },
  { name: "version", description: "print the version, then exit 0", switch: true },
];

export type CommandLine =
  | { ok: true; values: Map<string, string>; help: boolean; version: boolean }
  | { ok: false; problem: "unknown" | "needs-value" | "unexpected"; arg: string };

/** The flags given on `argv` (`--name=value`, `--name value`, a switch alone), or what is wrong with the first bad one. */
export function parseCommandLine(flags: readonly Flag[], argv: string[]): CommandLine {
  const specs = [...flags, ...BUILT_IN_FLAGS];
  const options = Object.fromEntries(specs.map((f) => [f.name, { type: f.switch ? ("boolean" as const) : ("string" as const), ...(f.short ? { short: f.short } : {}) }]));
  // Not strict: parseArgs's own errors differ by runtime and would change the binaries' messages,
  // so the tokens are checked here.
  const { tokens } = parseArgs({ args: argv, options, strict: false, allowPositionals: true, tokens: true });
  const values = new Map<string, string>();
  let help = false;
  let version = false;
  for (const token of tokens) {
    if (token.kind !== "option") return { ok: false, problem: "unexpected", arg: token.kind === "positional" ? token.value : "--" };
    const spec = specs.find((f) => f.name === token.name);
    if (!spec) return { ok: false, problem: "unknown", arg: token.rawName };
    if (token.name === "help" || token.name === "version") {
      if (token.value !== undefined) return { ok: false, problem: "unexpected", arg: argv[token.index]! };
      if (token.name === "help") help = true;
      else version = true;
      continue;
    }
    // A value that is the next flag means this one was given none (`--dir --once`).
    if (token.value === undefined ? !spec.switch : !token.inlineValue && token.value.startsWith("--")) {
      return { ok: false, problem: "needs-value", arg: token.rawName };
    }
    values.set(token.name, token.value ?? "true");
  }
  return { ok: true, values, help, version };
}
