// agent/config.ts: flags, environment and defaults.
import { describe, expect, test } from "bun:test";
import { AGENT_FLAGS, loadConfig } from "../../agent/config.ts";

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

/** A valid value other than the default, for every flag of the specification. */
const SAMPLE: Record<string, string> = {
  "controller-url": "https://other:1",
  "controller-ca": "/other-ca.crt",
  "token-file": "/token",
  role: "kibana",
  dir: "/out",
  once: "true",
  root: "/root",
  "file-mode": "0640",
  uid: "1000",
  gid: "-1",
  "health-addr": "127.0.0.1",
  "health-port": "0",
  "probe-url": "http://127.0.0.1:1",
  "probe-ca": "/probe-ca.crt",
  "proof-timeout-ms": "200",
  "proof-interval-ms": "20",
  "reprove-interval-ms": "300",
  "user-poll-ms": "400",
  "heartbeat-timeout-ms": "500",
  "backoff-min-ms": "2",
  "backoff-max-ms": "3",
  "request-timeout-ms": "600",
  "log-level": "debug",
};

test("AGENT_FLAGS is what the agent reads: every flag changes the configuration, its variable the same way, and a specified default is the one applied", () => {
  expect(Object.keys(SAMPLE).sort()).toEqual(AGENT_FLAGS.map((f) => f.name).sort());
  const required = ["--controller-url=https://ctl:8443", "--controller-ca=/ca.crt", "--role=elasticsearch"];
  const without = (name: string) => required.filter((a) => !a.startsWith(`--${name}=`));
  const base = loadConfig(required, {});
  for (const f of AGENT_FLAGS) {
    const viaFlag = loadConfig([...without(f.name), `--${f.name}=${SAMPLE[f.name]}`], {});
    expect({ flag: f.name, changed: JSON.stringify(viaFlag) !== JSON.stringify(base) }).toEqual({ flag: f.name, changed: true });
    expect(loadConfig(without(f.name), { [f.env!]: SAMPLE[f.name] })).toEqual(viaFlag);
    if (f.default !== undefined) expect(loadConfig([...required, `--${f.name}=${f.default}`], {})).toEqual(base);
  }
});
