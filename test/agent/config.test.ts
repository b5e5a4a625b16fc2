// agent/config.ts: flags, environment and defaults.
import { describe, expect, test } from "bun:test";
import { loadConfig } from "../../agent/config.ts";

describe("config", () => {
  const base = ["--controller-url=https://ctl:8443/", "--controller-ca=/ca.crt", "--role=elasticsearch"];
  test("flags override env; defaults apply", () => {
    const c = loadConfig([...base, "--health-port", "9000"], { ES_MTLS_HEALTH_PORT: "1", ES_MTLS_FILE_MODE: "0440" });
    expect(c.healthPort).toBe(9000);
    expect(c.fileMode).toBe(0o440);
    expect(c.controllerUrl).toBe("https://ctl:8443");
    expect(c.probeUrl).toBe("https://127.0.0.1:9200");
    expect(c.heartbeatTimeoutMs).toBe(30_000);
  });
  test.each([
    [["--role=foo"], /--role: "foo"/],
    [["--controller-url=http://x"], /must be an https/],
    [["--nope=1"], /unknown option --nope/],
    [["--file-mode=999"], /not an octal mode/],
    [["--proof-timeout-ms=abc"], /not an integer/],
  ])("refuses %j", (extra, re) => {
    expect(() => loadConfig([...base, ...extra], {})).toThrow(re);
  });
  test("requires the controller URL", () => {
    expect(() => loadConfig(["--role=kibana", "--controller-ca=/x"], {})).toThrow(/--controller-url \(or ES_MTLS_CONTROLLER_URL\) is required/);
  });
});
