// Exec probes inside the container's filesystem view (probe-namespace.ts): container paths resolve
// through the container's mounts, the container's own /tmp is used, and nothing reaches the host.
import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { inContainerMounts, mountNamespaceAvailable, podLocalArgv } from "./probe-namespace.ts";
import { runProbe } from "./probes.ts";

const dir = mkdtempSync(join(tmpdir(), "es-mtls-probe-ns-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("127.0.0.1 and //localhost in the probe's argv mean the pod's own address", () => {
  expect(podLocalArgv(["curl", "-k", "https://127.0.0.1:9200/_cluster/health", "http://localhost:5601/api/status", "localhostname"], "127.4.5.6")).toEqual([
    "curl", "-k", "https://127.4.5.6:9200/_cluster/health", "http://127.4.5.6:5601/api/status", "localhostname",
  ]);
});

test.skipIf(!mountNamespaceAvailable())("an exec probe sees the container's mounts at container paths and its own /tmp; the host is untouched", async () => {
  // A container as the test node lays it out: a root folder whose mounts are symlinks to volume folders.
  const vol = join(dir, "volumes", "certs");
  mkdirSync(vol, { recursive: true });
  writeFileSync(join(vol, "ca.crt"), "the-ca\n");
  const file = join(dir, "volumes", "cfg.yml");
  writeFileSync(file, "x: 1\n");
  const root = join(dir, "rootfs", "elasticsearch");
  mkdirSync(join(root, "usr/share/elasticsearch/config"), { recursive: true });
  symlinkSync(vol, join(root, "usr/share/elasticsearch/config/certs"));
  symlinkSync(file, join(root, "usr/share/elasticsearch/config/elasticsearch.yml"));
  const container = {
    name: "elasticsearch",
    volumeMounts: [
      { name: "certs", mountPath: "/usr/share/elasticsearch/config/certs" },
      { name: "cfg", mountPath: "/usr/share/elasticsearch/config/elasticsearch.yml", subPath: "elasticsearch.yml" },
    ],
  };
  const script = 'set -e; [ "$(cat /usr/share/elasticsearch/config/certs/ca.crt)" = the-ca ]; grep -q "x: 1" /usr/share/elasticsearch/config/elasticsearch.yml; touch /tmp/.es_start_file; echo "$1"';
  const r = await runProbe(
    { exec: { command: ["bash", "-c", script, "probe", "https://127.0.0.1:9200/"] }, timeoutSeconds: 10 },
    { podIP: "127.9.9.9", container, env: {}, root, logFile: join(dir, "probe.log") },
  );
  expect(r).toEqual({ ok: true, detail: expect.stringContaining("exit 0") });
  expect(readFileSync(join(dir, "probe.log"), "utf8")).toContain("https://127.9.9.9:9200/");
  expect(existsSync(join(root, "tmp/.es_start_file"))).toBe(true); // the container's /tmp
  expect(existsSync("/tmp/.es_start_file")).toBe(false);
  expect(existsSync("/usr/share/elasticsearch")).toBe(false);
  // A failing script fails the probe.
  const bad = await runProbe({ exec: { command: ["sh", "-c", "cat /usr/share/elasticsearch/config/certs/missing"] } }, { podIP: "127.9.9.9", container, env: {}, root, logFile: join(dir, "probe.log") });
  expect(bad.ok).toBe(false);
  expect(inContainerMounts(["true"], container, root)[0]).toBe("unshare");
});
