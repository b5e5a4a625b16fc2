// Containers of locally built es-mtls images (deploy/images/, built by test/images/ with podman) as the
// test node runs them: from the image's root filesystem (image-runner.ts), with the image's entrypoint
// and user, a read-only root where the pod says so, the pod's volumes at their container paths, and
// nothing left mounted once the pod is gone. The agent image runs with no controller to reach (it
// keeps retrying and serves its health port); the controller image runs `--version` as its args.
// Skipped by name where podman or root is missing.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import * as k8s from "@kubernetes/client-node";
import { spawnSync } from "node:child_process";
import { readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ControlPlane } from "../controlplane/controlplane.ts";
import { eventually } from "../support/eventually.ts";
import { TestCA } from "../support/test-ca.ts";
import { localImage } from "../images/build.ts";
import { run } from "../images/podman.ts";
import { AGENT_ENV } from "../../protocol/agent-env.ts";
import { ClusterDns } from "./fixtures/standin-runners.ts";
import { statusOf } from "./fixtures/pods.ts";
import { imageRunner, imageRunnerUnavailable, mountedImages } from "./image-runner.ts";
import { TestNode } from "./node.ts";
import { killAllProcesses, pidAlive } from "./processes.ts";

const ROOT = join(import.meta.dir, "../..");
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const ns = "images";
const log = (l: string) => console.error(`[images] ${l}`);

const unavailable = imageRunnerUnavailable();
const agent = unavailable ? { unavailable } : localImage("agent", log);
const controller = unavailable ? { unavailable } : localImage("controller", log);

if ("unavailable" in agent || "unavailable" in controller) {
  test.skip(`images on the test node: skipped, ${"unavailable" in agent ? agent.unavailable : (controller as { unavailable: string }).unavailable}`, () => {});
} else {
  const agentRef = agent.ref;
  const controllerRef = controller.ref;
  let cp: ControlPlane;
  let node: TestNode;
  let dns: ClusterDns;
  let core: k8s.CoreV1Api;
  /** Mount points and podman containers before the node ran anything: neither may grow. */
  let mountsBefore: Set<string>;
  let containersBefore: string;

  const mountTargets = () => new Set(spawnSync("findmnt", ["-rn", "-o", "TARGET"], { encoding: "utf8" }).stdout.split("\n").filter(Boolean));
  const podmanContainers = () => run("podman", ["ps", "-a", "--external", "-q"]).stdout.trim();

  beforeAll(async () => {
    mountsBefore = mountTargets();
    containersBefore = podmanContainers();
    cp = await ControlPlane.start({ log: (l) => console.error(l) });
    core = cp.kubeConfig().makeApiClient(k8s.CoreV1Api);
    dns = await ClusterDns.start(cp.kubeConfig(), 250, () => {});
    node = await TestNode.start({ kubeConfig: cp.kubeConfig(), runners: [imageRunner({ images: [agentRef, controllerRef], hostsFile: dns.file })] });
    await core.createNamespace({ body: { metadata: { name: ns } } });
    await eventually(() => core.readNamespacedServiceAccount({ name: "default", namespace: ns }), { timeoutMs: 30_000, what: "default SA" });
  }, 120_000);

  afterAll(async () => {
    try {
      await node?.stop();
      dns?.stop();
    } finally {
      killAllProcesses();
      await cp?.stop();
    }
  });

  describe("images on the test node (podman image mount, a private mount namespace)", () => {
    test("the agent image: its entrypoint as the image's user 65532, a read-only root, its volumes (a read-only one too), names from the cluster DNS; on deletion it exits 0 and nothing stays mounted", async () => {
      const ca = await TestCA.create("image-test-ca");
      await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: "agent-files" }, data: { "ca.crt": ca.pem, token: "not-a-token" } } });
      const env: Record<string, string> = {
        [AGENT_ENV.role]: "elasticsearch",
        // Nothing listens there: the agent keeps retrying and stays up.
        [AGENT_ENV.controllerUrl]: "https://127.0.0.1:9",
        [AGENT_ENV.controllerCa]: "/etc/agent/ca.crt",
        [AGENT_ENV.tokenFile]: "/etc/agent/token",
        [AGENT_ENV.dir]: "/data/out",
      };
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "agent" },
          spec: {
            terminationGracePeriodSeconds: 10,
            containers: [{
              name: "agent",
              image: agentRef,
              env: [...Object.entries(env).map(([name, value]) => ({ name, value })), { name: AGENT_ENV.healthAddr, valueFrom: { fieldRef: { fieldPath: "status.podIP" } } }],
              securityContext: { readOnlyRootFilesystem: true },
              volumeMounts: [{ name: "data", mountPath: "/data" }, { name: "files", mountPath: "/etc/agent", readOnly: true }],
              startupProbe: { httpGet: { path: "/healthz", port: 8099 as never }, periodSeconds: 1, failureThreshold: 30 },
            }],
            volumes: [{ name: "data", emptyDir: {} }, { name: "files", configMap: { name: "agent-files" } }],
          },
        },
      });
      const pod = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: "agent", namespace: ns });
        expect(statusOf(p, "agent")?.started).toBe(true);
        return p;
      }, { timeoutMs: 60_000, what: "the agent started (its /healthz answered)" });
      expect((await fetch(`http://${pod.status!.podIP}:8099/healthz`)).status).toBe(200);
      const pid = node.eventsOf(ns, "agent", "agent").find((e) => e.event === "start")!.pid!;
      // The process the node tracks is the image's entrypoint itself, as 65532 (the image's USER).
      expect(readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0")[0]).toBe("/usr/local/bin/es-mtls-agent");
      const status = readFileSync(`/proc/${pid}/status`, "utf8");
      expect(/^Uid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/)).toEqual(["65532", "65532", "65532", "65532"]);
      expect(/^Gid:\s+(.*)$/m.exec(status)![1]!.split(/\s+/)).toEqual(["65532", "65532", "65532", "65532"]);
      expect(/^Groups:[ \t]*(.*)$/m.exec(status)![1]!.trim()).toBe("");
      // Its root is the image's (the binary is there, the checkout is not), seen through /proc/<pid>/root.
      const root = `/proc/${pid}/root`;
      expect(readFileSync(`${root}/etc/passwd`, "utf8")).toContain("nonroot:x:65532:65532");
      expect(() => readFileSync(`${root}${join(ROOT, "package.json")}`)).toThrow();
      // Read-only root: not even root writes there; the emptyDir is writable and is the pod's volume.
      expect(() => writeFileSync(`${root}/usr/local/bin/x`, "x")).toThrow(/EROFS|read-only/i);
      expect(() => writeFileSync(`${root}/etc/agent/x`, "x")).toThrow(/EROFS|read-only/i);
      expect(readFileSync(`${root}/etc/agent/ca.crt`, "utf8")).toBe(ca.pem);
      writeFileSync(`${root}/data/seen-by-the-host`, "hello");
      expect(readFileSync(node.pod(ns, "agent")!.hostPath("agent", "/data/seen-by-the-host"), "utf8")).toBe("hello");
      // Names: /etc/hosts is the cluster DNS stand-in's file, current as it is rewritten.
      expect(readlinkSync(`${root}/etc/hosts`)).toBe("../run/es-mtls-dns/hosts");
      await eventually(() => expect(readFileSync(`${root}/etc/hosts`, "utf8")).toBe(readFileSync(dns.file, "utf8")), { what: "the container's /etc/hosts" });
      expect(readFileSync(`${root}/etc/resolv.conf`, "utf8")).toContain(`search ${ns}.svc.cluster.local`);
      expect(mountedImages()).toEqual([agentRef]);

      await core.deleteNamespacedPod({ name: "agent", namespace: ns });
      await eventually(async () => expect((await core.listNamespacedPod({ namespace: ns })).items).toHaveLength(0), { timeoutMs: 30_000, what: "the agent pod gone" });
      const exits = node.eventsOf(ns, "agent", "agent").filter((e) => e.event === "exit");
      expect(exits.map((e) => e.detail)).toEqual(["exit 0"]); // SIGTERM: a clean shutdown, not a SIGKILL
      expect(pidAlive(pid)).toBe(false);
      await eventually(() => {
        expect(mountedImages()).toEqual([]);
        expect([...mountTargets()].filter((t) => !mountsBefore.has(t))).toEqual([]);
      }, { what: "the image unmounted, no mount left" });
      expect(podmanContainers()).toBe(containersBefore);
    }, 120_000);

    test("the controller image: the pod's args replace the image's CMD after its entrypoint (as runAsUser 4242, read-only root), exit code and output as the pod's; a command not in the image fails", async () => {
      await core.createNamespacedPod({
        namespace: ns,
        body: {
          metadata: { name: "controller-version" },
          spec: { restartPolicy: "Never", containers: [{ name: "controller", image: controllerRef, args: ["--version"], securityContext: { runAsUser: 4242, runAsGroup: 4343, readOnlyRootFilesystem: true } }] },
        },
      });
      const terminated = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: "controller-version", namespace: ns });
        const t = statusOf(p, "controller")?.state?.terminated;
        expect(t).toBeDefined();
        return t!;
      }, { timeoutMs: 60_000, what: "the controller's --version done" });
      expect(terminated.exitCode).toBe(0);
      expect(node.pod(ns, "controller-version")!.logs("controller").trim()).toBe(`es-mtls-controller ${VERSION}`);
      // A command whose binary is not in the image fails as it would in a cluster, with nothing left behind.
      await core.createNamespacedPod({
        namespace: ns,
        body: { metadata: { name: "no-shell" }, spec: { restartPolicy: "Never", containers: [{ name: "sh", image: controllerRef, command: ["/bin/sh", "-c", "id -u"] }] } },
      });
      const failed = await eventually(async () => {
        const p = await core.readNamespacedPod({ name: "no-shell", namespace: ns });
        const t = statusOf(p, "sh")?.state?.terminated;
        expect(t).toBeDefined();
        return t!;
      }, { timeoutMs: 60_000, what: "the shell-less image refused /bin/sh" });
      expect(failed.exitCode).not.toBe(0);
      await eventually(() => {
        expect(mountedImages()).toEqual([]);
        expect([...mountTargets()].filter((t) => !mountsBefore.has(t))).toEqual([]);
      }, { what: "nothing left mounted" });
    }, 120_000);
  });
}
