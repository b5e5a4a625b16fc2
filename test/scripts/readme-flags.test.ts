// scripts/readme-flags.ts: the README's flag tables are the flag specifications' (run
// `npm run readme-flags` after changing a flag), and the comparison can fail.
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { AGENT_FLAGS } from "../../agent/config.ts";
import { CONTROLLER_FLAGS } from "../../controller/config.ts";
import { flagTable, README, withFlagTables } from "../../scripts/readme-flags.ts";

const readme = readFileSync(README, "utf8");

/** The rows of the table after `marker`: flag cell → [variable, default] cells. */
function rows(text: string, marker: string): Map<string, [string, string]> {
  const lines = text.slice(text.indexOf(marker)).split("\n").slice(3); // the marker, the header, the rule
  const table = lines.slice(0, lines.findIndex((l) => !l.startsWith("|")));
  return new Map(table.map((l) => l.split(" | ")).map(([flag, env, dflt]) => [flag!.slice(2), [env!, dflt!]]));
}

describe("README flag tables", () => {
  test("README.md holds exactly the tables the specifications give (npm run readme-flags rewrites them)", () => {
    expect(withFlagTables(readme)).toBe(readme);
  });

  test.each([
    ["controller", CONTROLLER_FLAGS],
    ["agent", AGENT_FLAGS],
  ] as const)("the %s table has one row per flag with its variable and default, then --help and --version", (name, flags) => {
    const table = rows(readme, `<!-- flags:${name} -->`);
    expect([...table.keys()]).toEqual([...flags.map((f) => `\`--${f.name}\``), "`-h`, `--help`", "`--version`"]);
    for (const f of flags) {
      expect(table.get(`\`--${f.name}\``)![0]).toBe(`\`${f.env}\``);
      expect(table.get(`\`--${f.name}\``)![1]).toBe(f.shown ? f.shown.replaceAll("<", "&lt;").replaceAll(">", "&gt;") : `\`${f.default}\``);
    }
  });

  test("a README whose table differs from the specification is rewritten: a changed default, a missing row", () => {
    const changedDefault = readme.replace("| `--resync` | `ES_MTLS_RESYNC` | `5m` |", "| `--resync` | `ES_MTLS_RESYNC` | `10m` |");
    expect(changedDefault).not.toBe(readme);
    expect(withFlagTables(changedDefault)).toBe(readme);
    const missingRow = readme.replace(/^\| `--probe-ca` .*\n/m, "");
    expect(missingRow).not.toBe(readme);
    expect(withFlagTables(missingRow)).toBe(readme);
    expect(flagTable(AGENT_FLAGS)).toContain("| `--probe-ca` | `ES_MTLS_PROBE_CA` | (none) |");
  });

  test("a README without a table's markers is refused, not silently left alone", () => {
    expect(() => withFlagTables(readme.replace("<!-- flags:agent -->", ""))).toThrow(/<!-- flags:agent -->/);
  });
});
