// common/usage.ts: --help's text lists every flag with its default and variable, from the specification.
import { describe, expect, test } from "bun:test";
import type { Flag } from "../../common/flags.ts";
import { defaultText, usageLine, usageText } from "../../common/usage.ts";

const FLAGS: Flag[] = [
  { name: "role", shown: "(required)", env: "ES_MTLS_ROLE", description: "elasticsearch or kibana" },
  { name: "health-port", default: "8099", env: "ES_MTLS_HEALTH_PORT", description: "listen port ".repeat(20).trim() },
  { name: "once", description: "write once", switch: true },
  { name: "probe-ca", description: "no default, no variable" },
];

describe("usage", () => {
  test("every flag with its default and variable, its description wrapped under it; --help and --version last", () => {
    const text = usageText("prog", FLAGS);
    const lines = text.split("\n");
    expect(lines[0]).toBe(usageLine("prog"));
    expect(lines).toContain("  --role=<value>  (default: (required); env ES_MTLS_ROLE)");
    expect(lines).toContain("  --health-port=<value>  (default: 8099; env ES_MTLS_HEALTH_PORT)");
    expect(lines).toContain("  --once  (default: false)");
    expect(lines).toContain("  --probe-ca=<value>  (default: (none))");
    expect(lines.slice(-5)).toEqual(["  -h, --help", expect.stringContaining("print every flag"), "  --version", expect.stringContaining("print the version"), ""]);
    // The long description is wrapped within 100 columns and loses no word.
    const after = lines.slice(lines.indexOf("  --health-port=<value>  (default: 8099; env ES_MTLS_HEALTH_PORT)") + 1);
    const described = after.slice(0, after.findIndex((l) => !l.startsWith("      ")));
    expect(described.length).toBeGreaterThan(1);
    expect(described.every((l) => l.length <= 100)).toBe(true);
    expect(described.map((l) => l.trim()).join(" ")).toBe(FLAGS[1]!.description);
  });

  test("a default reads as shown, else the literal default, else false for a switch, else (none)", () => {
    expect(FLAGS.map(defaultText)).toEqual(["(required)", "8099", "false", "(none)"]);
  });
});
