// A real Kubernetes control plane for tests: etcd 3.6, kube-apiserver and
// kube-controller-manager on free loopback ports in a temporary directory,
// with their own certificates, service-account issuer and RBAC.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, openSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as k8s from "@kubernetes/client-node";
import { ensureBinaries } from "./binaries.ts";
import { TestCA } from "../support/test-ca.ts";
import { serviceAccountSigningKey } from "./certs.ts";
import { freePorts } from "../support/ports.ts";
import { installCrds } from "./crds.ts";

/** The controllers kube-controller-manager runs here (what pods-as-processes tests rely on). */
export const CONTROLLERS = [
  "statefulset-controller",
  "deployment-controller",
  "replicaset-controller",
  "garbage-collector-controller",
  "namespace-controller",
  "serviceaccount-controller",
  "serviceaccount-token-controller",
  "disruption-controller",
  "root-ca-certificate-publisher-controller",
];

export interface StartOptions {
  /** Folders or files of CRD manifests to install once the apiserver is ready. */
  crds?: string[];
  /** Start kube-controller-manager (default true). */
  controllerManager?: boolean;
  /** More kube-controller-manager controllers than CONTROLLERS (e.g. "endpointslice-controller" for Services of pods). */
  extraControllers?: string[];
  /** Extra kube-apiserver flags. */
  apiserverArgs?: string[];
  /** Write an audit log of every write request (read it with auditEvents()). */
  audit?: boolean;
  /** Also audit reads (get) of Secrets: a test that proves which Secrets a controller read. */
  auditSecretReads?: boolean;
  /** Also audit lists of every resource: a test that proves how a controller lists (paged or whole). */
  auditLists?: boolean;
  log?: (line: string) => void;
}

const running = new Set<ControlPlane>();
let exitHookInstalled = false;

function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Synchronous kill on any exit path, so a crashed test run leaves nothing behind.
  // (The Go binary also exits by itself when its parent dies.)
  process.on("exit", () => {
    for (const cp of running) cp.killNow();
  });
  for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"] as const) {
    process.once(sig, () => {
      for (const cp of running) cp.killNow();
      process.exit(130);
    });
  }
}

// Ports come from the one helper in test/support (re-exported for existing imports).
export { freePort, freePorts } from "../support/ports.ts";

function kubeconfigYaml(server: string, caPem: string, user: Record<string, string>): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  const userLines = Object.entries(user)
    .map(([k, v]) => `    ${k}: ${k.endsWith("-data") ? b64(v) : v}`)
    .join("\n");
  return `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster:
    server: ${server}
    certificate-authority-data: ${b64(caPem)}
users:
- name: test
  user:
${userLines}
contexts:
- name: test
  context: { cluster: test, user: test }
current-context: test
`;
}

export interface AuditEvent {
  verb: string;
  /** Path and query ("…?dryRun=All" for a dry run). */
  requestURI: string;
  user: { username: string; groups?: string[] };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string; apiGroup?: string };
  responseStatus?: { code?: number };
  stage: string;
  requestReceivedTimestamp: string;
}

export class ControlPlane {
  readonly procs: Array<{ name: string; child: ChildProcess }> = [];
  server = "";
  caPem = "";
  adminCert = { cert: "", key: "" };
  adminToken = "";
  /** kubeconfig authenticating with the admin client certificate. */
  certKubeconfigPath = "";
  /** kubeconfig authenticating with a bearer token. */
  tokenKubeconfigPath = "";
  issuer = "";
  private ca?: TestCA;
  private stopped = false;

  private constructor(readonly dir: string, private readonly log: (l: string) => void) {}

  static async start(opts: StartOptions = {}): Promise<ControlPlane> {
    const log = opts.log ?? (() => {});
    const commands = ensureBinaries(log);
    const dir = mkdtempSync(join(tmpdir(), "es-mtls-cp-"));
    const cp = new ControlPlane(dir, log);
    running.add(cp);
    installExitHook();
    try {
      await cp.boot(commands, opts);
      return cp;
    } catch (e) {
      await cp.stop();
      throw e;
    }
  }

  private spawnComponent(name: string, argv: string[]): ChildProcess {
    const out = openSync(join(this.dir, `${name}.log`), "a");
    const [cmd, ...pre] = argv;
    const child = spawn(cmd!, pre, {
      stdio: ["ignore", out, out],
      env: { ...process.env, K8S_TESTENV_EXIT_WITH_PARENT: "1" },
    });
    this.procs.push({ name, child });
    child.on("exit", (code, signal) => {
      if (!this.stopped) this.log(`${name} exited (${code ?? signal}); see ${join(this.dir, `${name}.log`)}`);
    });
    return child;
  }

  private async boot(commands: ReturnType<typeof ensureBinaries>, opts: StartOptions) {
    const d = this.dir;
    const [etcdClient, etcdPeer, securePort] = (await freePorts(3)) as [number, number, number];
    this.server = `https://127.0.0.1:${securePort}`;
    this.issuer = this.server;

    const ca = await TestCA.create("es-mtls test control plane CA");
    this.ca = ca;
    const serving = await ca.issue({
      subject: "CN=kube-apiserver",
      server: {
        dns: ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
        ips: ["127.0.0.1", "10.0.0.1"],
      },
    });
    this.adminCert = await ca.issue({ subject: "CN=admin, O=system:masters", client: true });
    const kcmCert = await ca.issue({ subject: "CN=system:kube-controller-manager", client: true });
    const sa = await serviceAccountSigningKey();
    this.caPem = ca.pem;
    this.adminToken = Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString("hex");
    const files: Record<string, string> = {
      "ca.crt": ca.pem,
      "apiserver.crt": serving.cert,
      "apiserver.key": serving.key,
      "sa.key": sa.privatePem,
      "sa.pub": sa.publicPem,
      // Static tokens: the bearer-token kubeconfig (Bun with client-node 2.x needs one).
      "tokens.csv": `${this.adminToken},admin-token,admin-token-uid,"system:masters"\n`,
    };
    // Audit only writes: tests count what a controller wrote, by user (and, when asked, Secret reads).
    const secretReads = opts.auditSecretReads ? `- level: Metadata\n  verbs: [get]\n  resources: [{ group: "", resources: [secrets] }]\n` : "";
    const lists = opts.auditLists ? `- level: Metadata\n  verbs: [list]\n` : "";
    files["audit-policy.yaml"] = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: Metadata
  verbs: [create, update, patch, delete, deletecollection]
${secretReads}${lists}- level: None
`;
    for (const [name, content] of Object.entries(files)) writeFileSync(join(d, name), content, { mode: 0o600 });

    this.certKubeconfigPath = join(d, "admin-cert.kubeconfig");
    this.tokenKubeconfigPath = join(d, "admin-token.kubeconfig");
    writeFileSync(this.certKubeconfigPath, kubeconfigYaml(this.server, ca.pem, { "client-certificate-data": this.adminCert.cert, "client-key-data": this.adminCert.key }), { mode: 0o600 });
    writeFileSync(this.tokenKubeconfigPath, kubeconfigYaml(this.server, ca.pem, { token: this.adminToken }), { mode: 0o600 });
    const kcmKubeconfig = join(d, "kcm.kubeconfig");
    writeFileSync(kcmKubeconfig, kubeconfigYaml(this.server, ca.pem, { "client-certificate-data": kcmCert.cert, "client-key-data": kcmCert.key }), { mode: 0o600 });

    const etcdUrl = `http://127.0.0.1:${etcdClient}`;
    const peerUrl = `http://127.0.0.1:${etcdPeer}`;
    this.spawnComponent("etcd", [
      ...commands.etcd,
      "--name=test",
      `--data-dir=${join(d, "etcd")}`,
      `--listen-client-urls=${etcdUrl}`,
      `--advertise-client-urls=${etcdUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=test=${peerUrl}`,
      "--unsafe-no-fsync=true",
      "--log-level=error",
      "--quota-backend-bytes=1073741824",
    ]);

    this.spawnComponent("kube-apiserver", [
      ...commands.apiserver,
      `--etcd-servers=${etcdUrl}`,
      "--bind-address=127.0.0.1",
      "--advertise-address=127.0.0.1",
      `--secure-port=${securePort}`,
      `--cert-dir=${join(d, "certs")}`,
      `--tls-cert-file=${join(d, "apiserver.crt")}`,
      `--tls-private-key-file=${join(d, "apiserver.key")}`,
      `--client-ca-file=${join(d, "ca.crt")}`,
      `--token-auth-file=${join(d, "tokens.csv")}`,
      `--service-account-issuer=${this.issuer}`,
      `--service-account-key-file=${join(d, "sa.pub")}`,
      `--service-account-signing-key-file=${join(d, "sa.key")}`,
      "--service-cluster-ip-range=10.0.0.0/24",
      "--authorization-mode=RBAC",
      "--allow-privileged=true",
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--v=1",
      ...(opts.audit
        ? [`--audit-policy-file=${join(d, "audit-policy.yaml")}`, `--audit-log-path=${join(d, "audit.log")}`, "--audit-log-mode=blocking", "--audit-log-format=json"]
        : []),
      ...(opts.apiserverArgs ?? []),
    ]);
    await this.waitReady();

    if (opts.controllerManager !== false) {
      this.spawnComponent("kube-controller-manager", [
        ...commands.controllerManager,
        `--kubeconfig=${kcmKubeconfig}`,
        `--authentication-kubeconfig=${kcmKubeconfig}`,
        `--authorization-kubeconfig=${kcmKubeconfig}`,
        `--controllers=${[...CONTROLLERS, ...(opts.extraControllers ?? [])].join(",")}`,
        `--service-account-private-key-file=${join(d, "sa.key")}`,
        `--root-ca-file=${join(d, "ca.crt")}`,
        "--use-service-account-credentials=true", // each controller under its own RBAC role, as in a real cluster
        "--leader-elect=false",
        "--secure-port=0",
        "--concurrent-gc-syncs=5",
        "--v=1",
      ]);
    }
    if (opts.crds?.length) await installCrds(this.kubeConfig(), opts.crds);
  }

  /** GET a path with the admin client certificate. */
  async get(path: string, auth: "cert" | "none" | { token: string } = "cert"): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const headers: Record<string, string> = {};
      if (typeof auth === "object") headers.authorization = `Bearer ${auth.token}`;
      const req = request(
        `${this.server}${path}`,
        {
          ca: this.caPem,
          ...(auth === "cert" ? { cert: this.adminCert.cert, key: this.adminCert.key } : {}),
          headers,
          timeout: 5000,
        },
        (res) => {
          let body = "";
          res.on("data", (c) => (body += c));
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      req.on("error", reject);
      req.on("timeout", () => req.destroy(new Error("timeout")));
      req.end();
    });
  }

  private async waitReady(timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      for (const p of this.procs) {
        if (p.child.exitCode !== null) {
          throw new Error(`${p.name} exited with ${p.child.exitCode}: ${this.tail(p.name)}`);
        }
      }
      try {
        const r = await this.get("/readyz");
        if (r.status === 200) return;
        last = `${r.status} ${r.body.slice(0, 300)}`;
      } catch (e) {
        last = String(e);
      }
      await Bun.sleep(200);
    }
    throw new Error(`kube-apiserver not ready after ${timeoutMs} ms: ${last}`);
  }

  tail(name: string, bytes = 2000): string {
    try {
      const s = readFileSync(join(this.dir, `${name}.log`), "utf8");
      return s.slice(-bytes);
    } catch {
      return "";
    }
  }

  /** Audit events (writes, and Secret reads with auditSecretReads) recorded so far; needs start({ audit: true }). */
  auditEvents(): AuditEvent[] {
    let text = "";
    try {
      text = readFileSync(join(this.dir, "audit.log"), "utf8");
    } catch {
      return [];
    }
    // The apiserver appends while we read: a last line without its newline is still being written.
    const complete = text.slice(0, text.lastIndexOf("\n") + 1);
    return complete.split("\n").filter(Boolean).map((l) => JSON.parse(l) as AuditEvent);
  }

  /** A kubeconfig file for a client-certificate user of this control plane. */
  async kubeconfigFor(user: string, groups: string[] = []): Promise<string> {
    const subject = [`CN=${user}`, ...groups.map((g) => `O=${g}`)].join(", ");
    const pair = await this.ca!.issue({ subject, client: true });
    const path = join(this.dir, `${user.replace(/[^a-z0-9-]/gi, "_")}.kubeconfig`);
    writeFileSync(path, kubeconfigYaml(this.server, this.caPem, { "client-certificate-data": pair.cert, "client-key-data": pair.key }), { mode: 0o600 });
    return path;
  }

  /** A client-node KubeConfig for the admin, by client certificate (default) or bearer token. */
  kubeConfig(auth: "cert" | "token" = "cert"): k8s.KubeConfig {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(auth === "cert" ? this.certKubeconfigPath : this.tokenKubeconfigPath);
    return kc;
  }

  /** Kills everything at once and removes the temporary folder (exit hooks). */
  killNow() {
    this.stopped = true;
    for (const p of this.procs) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill("SIGKILL");
    rmSync(this.dir, { recursive: true, force: true });
  }

  async stop(): Promise<void> {
    if (this.stopped && this.procs.every((p) => p.child.exitCode !== null || p.child.signalCode !== null)) {
      running.delete(this);
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    this.stopped = true;
    // Stop in reverse start order; etcd last.
    for (const p of [...this.procs].reverse()) {
      if (p.child.exitCode !== null || p.child.signalCode !== null) continue;
      const exited = new Promise<void>((r) => p.child.once("exit", () => r()));
      p.child.kill("SIGTERM");
      const killed = await Promise.race([exited.then(() => true), Bun.sleep(5000).then(() => false)]);
      if (!killed) {
        p.child.kill("SIGKILL");
        await exited;
      }
    }
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
