// A test node that runs itself: registers a Node (Ready, capacity, address
// 127.0.0.1) and keeps its Lease fresh, binds unscheduled pods to itself (see
// scheduler.ts), watches the pods bound to it and runs each as local processes
// (see pod-worker.ts). The control plane here runs no node-lifecycle controller,
// so nothing would taint a silent node; the heartbeat is kept anyway so the
// objects look as a kubelet leaves them.
//
//   const node = await TestNode.start({ kubeConfig: cp.kubeConfig(), runners: [myRunner] });
//   node.runners.add(anotherRunner);          // later registrations take precedence
//   ...; await node.stop();                    // kills every process, removes the Node
import * as k8s from "@kubernetes/client-node";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ContainerEvent } from "./container.ts";
import { PodWorker } from "./pod-worker.ts";
import { PodAddresses, type PodNetwork } from "./ports.ts";
import { failingRunner, RunnerRegistry, sleepRunner, type ContainerRunner } from "./runners.ts";
import { TinyScheduler } from "./scheduler.ts";

export interface TestNodeOptions {
  kubeConfig: k8s.KubeConfig;
  /** Default: `test-node-<random>`. */
  name?: string;
  runners?: ContainerRunner[];
  /** Containers no runner matches: a sleeping process (default) or a NoRunner waiting state. */
  unknownContainers?: "sleep" | "fail";
  /** Bind unscheduled default-scheduler pods to this node (default true). */
  schedule?: boolean;
  capacity?: Record<string, string>;
  /** How often Secret/ConfigMap/downward-API/token volumes are re-synced (default 1000 ms). */
  volumeResyncMs?: number;
  /** Renew projected service-account tokens after this long (default: at 80 % of their lifetime). */
  tokenRenewAfterMs?: number;
  /** Cap of the restart back-off (default 5000 ms; a kubelet's is 5 min). */
  maxBackoffMs?: number;
  /** Pod addresses from a private range (inside a network namespace of the test's own: test/netns/) instead of 127.x. */
  podNetwork?: PodNetwork;
  log?: (line: string) => void;
}

const HEARTBEAT_MS = 10_000;
const LEASE_SECONDS = 40;
const micro = (d: Date) => d.toISOString().replace("Z", "000Z");

export class TestNode {
  readonly events: ContainerEvent[] = [];
  readonly runners: RunnerRegistry;
  readonly addresses: PodAddresses;
  private readonly workers = new Map<string, PodWorker>();
  private readonly core: k8s.CoreV1Api;
  private informer: k8s.ListWatch<k8s.V1Pod> | undefined;
  private scheduler: TinyScheduler | undefined;
  private heartbeat: ReturnType<typeof setInterval> | undefined;
  private stopped = false;
  private readonly log: (line: string) => void;

  private constructor(private readonly o: TestNodeOptions, readonly name: string, readonly dir: string, readonly capacity: Record<string, string>) {
    this.core = o.kubeConfig.makeApiClient(k8s.CoreV1Api);
    this.addresses = new PodAddresses(o.podNetwork);
    this.runners = new RunnerRegistry(o.runners ?? [], o.unknownContainers === "fail" ? failingRunner : sleepRunner);
    this.log = o.log ?? ((l) => console.error(`[${name}] ${l}`));
  }

  static async start(o: TestNodeOptions): Promise<TestNode> {
    const name = o.name ?? `test-node-${Math.random().toString(36).slice(2, 8)}`;
    const dir = mkdtempSync(join(tmpdir(), `es-mtls-${name}-`));
    const node = new TestNode(o, name, dir, o.capacity ?? { cpu: "8", memory: "16Gi", pods: "110", "ephemeral-storage": "100Gi" });
    try {
      await node.register();
      await node.watchPods();
      if (o.schedule !== false) {
        node.scheduler = new TinyScheduler(o.kubeConfig, name, node.log);
        await node.scheduler.start();
      }
      return node;
    } catch (e) {
      await node.stop();
      throw e;
    }
  }

  /** The worker of a pod currently on this node, by namespace and name (the newest one). */
  pod(namespace: string, name: string): PodWorker | undefined {
    return [...this.workers.values()].reverse().find((w) => w.name === `${namespace}/${name}`);
  }

  /** PIDs of every container process this node ever started (exited ones included). */
  startedPids(): number[] {
    return [...new Set(this.events.filter((e) => e.event === "start" && e.pid).map((e) => e.pid!))];
  }

  /** Events of one pod's containers, optionally one container's, in order. */
  eventsOf(namespace: string, pod: string, container?: string): ContainerEvent[] {
    return this.events.filter((e) => e.namespace === namespace && e.pod === pod && (!container || e.container === container));
  }

  private nodeStatus(): k8s.V1NodeStatus {
    const now = new Date();
    const cond = (type: string, status: string, reason: string, message: string) => ({ type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: now });
    return {
      capacity: this.capacity,
      allocatable: this.capacity,
      addresses: [{ type: "InternalIP", address: "127.0.0.1" }, { type: "Hostname", address: this.name }],
      conditions: [
        cond("Ready", "True", "KubeletReady", "test node is posting ready status"),
        cond("MemoryPressure", "False", "KubeletHasSufficientMemory", "test node"),
        cond("DiskPressure", "False", "KubeletHasNoDiskPressure", "test node"),
        cond("PIDPressure", "False", "KubeletHasSufficientPID", "test node"),
      ],
      nodeInfo: {
        architecture: process.arch === "x64" ? "amd64" : process.arch, bootID: "", containerRuntimeVersion: "testnode://local-processes",
        kernelVersion: "", kubeProxyVersion: "", kubeletVersion: "v0.0.0-test-node", machineID: "", operatingSystem: "linux",
        osImage: "es-mtls test node", systemUUID: "",
      },
    };
  }

  private async register(): Promise<void> {
    const labels = { "kubernetes.io/hostname": this.name, "kubernetes.io/os": "linux", "node.es-mtls.test/local-processes": "true" };
    const node = await this.core.createNode({ body: { metadata: { name: this.name, labels }, spec: {}, status: this.nodeStatus() } });
    await this.patchNodeStatus();
    const coord = this.o.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    await coord.createNamespacedLease({
      namespace: "kube-node-lease",
      body: {
        metadata: { name: this.name, ownerReferences: [{ apiVersion: "v1", kind: "Node", name: this.name, uid: node.metadata!.uid! }] },
        spec: { holderIdentity: this.name, leaseDurationSeconds: LEASE_SECONDS, renewTime: micro(new Date()) as unknown as Date },
      },
    });
    let beats = 0;
    this.heartbeat = setInterval(() => {
      const renew = coord.patchNamespacedLease({ name: this.name, namespace: "kube-node-lease", body: { spec: { renewTime: micro(new Date()) } } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
      const status = ++beats % 4 === 0 ? this.patchNodeStatus() : Promise.resolve();
      Promise.all([renew, status]).catch((e) => this.stopped || this.log(`heartbeat: ${(e as Error).message}`));
    }, HEARTBEAT_MS);
  }

  private async patchNodeStatus(): Promise<void> {
    await this.core.patchNodeStatus({ name: this.name, body: { status: this.nodeStatus() } }, k8s.setHeaderOptions("Content-Type", k8s.PatchStrategy.MergePatch));
  }

  private async watchPods(): Promise<void> {
    const selector = `spec.nodeName=${this.name}`;
    const informer = new k8s.ListWatch<k8s.V1Pod>("/api/v1/pods", new k8s.Watch(this.o.kubeConfig), () => this.core.listPodForAllNamespaces({ fieldSelector: selector }), false, undefined, selector);
    const seen = (pod: k8s.V1Pod) => {
      if (this.stopped) return;
      const uid = pod.metadata!.uid!;
      const existing = this.workers.get(uid);
      if (existing) return existing.update(pod);
      // A pod that already ended (before this node started) is not run again, as by a kubelet.
      if (pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed") return;
      const w = new PodWorker(this.workerOptions(), pod);
      this.workers.set(uid, w);
      void w.run();
      if (pod.metadata?.deletionTimestamp) w.update(pod);
    };
    informer.on("add", seen);
    informer.on("update", seen);
    informer.on("delete", (pod) => {
      const w = this.workers.get(pod.metadata!.uid!);
      if (w) void w.forget().then(() => this.workers.delete(w.uid));
    });
    informer.on("error", (e) => {
      if (this.stopped) return;
      this.log(`pod watch: ${(e as Error)?.message ?? e}; restarting`);
      setTimeout(() => void (this.stopped || informer.start()), 500);
    });
    this.informer = informer;
    await informer.start();
  }

  private workerOptions(): ConstructorParameters<typeof PodWorker>[0] {
    return {
      core: this.core,
      nodeName: this.name,
      hostIP: "127.0.0.1",
      nodeDir: this.dir,
      addresses: this.addresses,
      runners: this.runners,
      capacity: this.capacity,
      apiserver: new URL(this.o.kubeConfig.getCurrentCluster()!.server),
      record: (e) => this.events.push(e),
      resyncMs: this.o.volumeResyncMs ?? 1000,
      tokenRenewAfterMs: this.o.tokenRenewAfterMs,
      maxBackoffMs: this.o.maxBackoffMs ?? 5000,
      log: this.log,
    };
  }

  /** Kills every process of this node at once and removes its Node and Lease (pods stay bound, as after a node failure). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.heartbeat);
    await this.scheduler?.stop();
    await this.informer?.stop();
    await Promise.all([...this.workers.values()].map((w) => w.forget()));
    this.workers.clear();
    const coord = this.o.kubeConfig.makeApiClient(k8s.CoordinationV1Api);
    await coord.deleteNamespacedLease({ name: this.name, namespace: "kube-node-lease" }).catch(() => undefined);
    await this.core.deleteNode({ name: this.name }).catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }
}
