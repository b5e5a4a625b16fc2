// The whole system as a cluster runs it, for the lifecycle test and the soak bench: a real control
// plane with kube-controller-manager (StatefulSet, disruption controllers) and an audit log, the
// real controller process with its pod webhook registered with the apiserver, the self-running
// test node (the agent from its image where podman is present, else as the shipped Bun binary; the
// Elasticsearch stand-in configured from the pod as the image is) and an ECK-shaped `quickstart`: an Elasticsearch resource, a 3-pod
// StatefulSet labelled as ECK labels ES pods, its Services, config and HTTP-cert Secrets and a PDB.
import * as k8s from "@kubernetes/client-node";
import { ControlPlane } from "../../controlplane/controlplane.ts";
import { PROJECT_CRDS } from "../../controlplane/crds.ts";
import { ControllerProcess } from "../../support/controller-process.ts";
import { prepareCluster } from "../../support/cluster-setup.ts";
import { eventually } from "../../support/eventually.ts";
import { servingCa } from "../../support/intent-client.ts";
import { TestCA } from "../../support/test-ca.ts";
import { buildBinary, killAll, type AgentProcess } from "../../support/agent-harness.ts";
import { TestNode } from "../../node/node.ts";
import type { ContainerContext } from "../../node/runners.ts";
import { killAllProcesses } from "../../node/processes.ts";
import { agentImageRunner, agentRunner } from "../../node/fixtures/agent-runner.ts";
import { imageRunnerUnavailable } from "../../node/image-runner.ts";
import { localImage } from "../../images/build.ts";
import { ClusterDns, elasticsearchRunner } from "../../node/fixtures/standin-runners.ts";
import { desiredMutatingWebhookConfiguration } from "../../../controller/admission/configurations.ts";
import { CLIENT_AUTHENTICATION, ELASTICSEARCH } from "../../../controller/resources.ts";
import { clientCaSecretName, ECK_MANAGED_ANNOTATION } from "../../../controller/names.ts";

export const NS = "lifecycle";
export const ES_NAME = "quickstart";
export const STS = `${ES_NAME}-es-default`;
export const REPLICAS = 3;
export const PASSWORD = "elastic-pw";
export const CONTROLLER_USER = "es-mtls-controller";
/** What the controller creates when enabling and must delete when disabled. */
export const MTLS_SECRETS = [`${ES_NAME}-es-internal-client-cert`, `${ES_NAME}-es-client-trust-bundle`, clientCaSecretName(NS, ES_NAME)];
/** The controller's namespace, where the client CA (the last of MTLS_SECRETS) lives. */
export const CONTROLLER_NAMESPACE = "es-mtls-system";
const namespaceOf = (secret: string) => (secret === clientCaSecretName(NS, ES_NAME) ? CONTROLLER_NAMESPACE : NS);
const CONFIG = "/usr/share/elasticsearch/config";
export const ES_LABELS = {
  "common.k8s.elastic.co/type": "elasticsearch",
  "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME,
  "elasticsearch.k8s.elastic.co/statefulset-name": STS,
};
export const ES_SELECTOR = Object.entries(ES_LABELS).map(([k, v]) => `${k}=${v}`).join(",");

/** Where the agents come from: the agent image (a local podman reference), or the binary `bun build --compile` makes (and why not the image). */
export type AgentSource = { image: string } | { binary: string };

/** The agent image where podman is present (built, or found in the cache), else the built binary. Throws when the image fails to build. */
export function agentSource(log: (l: string) => void = () => {}): AgentSource {
  const unavailable = imageRunnerUnavailable();
  const image = unavailable ? { unavailable } : localImage("agent", log);
  return "ref" in image ? { image: image.ref } : { binary: image.unavailable };
}

/** For test names: which agent ran. */
export function agentSourceName(s: AgentSource): string {
  return "image" in s ? "agent from its image" : "agent as built binary";
}

/** One agent process the node started: which pod, and its JSON logs (proofs with timestamps). */
export interface AgentRun {
  pod: string;
  uid: string;
  agent: AgentProcess;
}

export class Lifecycle {
  core!: k8s.CoreV1Api;
  apps!: k8s.AppsV1Api;
  custom!: k8s.CustomObjectsApi;
  httpCaPem = "";
  readonly agents: AgentRun[] = [];
  private constructor(
    readonly cp: ControlPlane,
    private readonly log: (l: string) => void,
    private readonly controllerArgs: string[] = [],
    readonly agent: AgentSource = { binary: "the image was not asked for" },
  ) {}
  node: TestNode | undefined;
  dns: ClusterDns | undefined;
  controller: ControllerProcess | undefined;

  /**
   * Starts everything; on failure stops what started, then throws. `workload: false` starts everything
   * but the ECK-shaped `quickstart` (a test brings its own, e.g. test/e2e/helm-chart/); `controllerArgs`
   * are added to the controller's flags (e.g. short certificate validities); `agent`: the agent image
   * (see `agentSource`), else the built binary.
   */
  static async start(log: (l: string) => void = () => {}, opts: { workload?: boolean; controllerArgs?: string[]; agent?: AgentSource } = {}): Promise<Lifecycle> {
    // The agent as shipped, built once and cached; an image needs no binary.
    const binary = opts.agent && "image" in opts.agent ? Promise.resolve() : buildBinary();
    const cp = await ControlPlane.start({ crds: PROJECT_CRDS, audit: true, log });
    const lc = new Lifecycle(cp, log, opts.controllerArgs ?? [], opts.agent);
    try {
      await lc.boot(binary, opts.workload ?? true);
      return lc;
    } catch (e) {
      await lc.stop();
      throw e;
    }
  }

  private async boot(binary: Promise<void>, workload: boolean): Promise<void> {
    const kc = this.cp.kubeConfig();
    this.core = kc.makeApiClient(k8s.CoreV1Api);
    this.apps = kc.makeApiClient(k8s.AppsV1Api);
    this.custom = kc.makeApiClient(k8s.CustomObjectsApi);
    await prepareCluster(this.core, [NS]);
    this.controller = await this.startController();
    await this.controller.waitReady();
    // The apiserver calls the webhook directly (no Service on this control plane).
    const mwc = desiredMutatingWebhookConfiguration({ client: { url: `https://127.0.0.1:${this.controller.webhookPort}` }, caPem: await servingCa(this.core, "es-mtls-system") });
    await kc.makeApiClient(k8s.AdmissionregistrationV1Api).createMutatingWebhookConfiguration({ body: mwc });
    await binary;
    this.dns = await ClusterDns.start(kc, 250, this.log);
    const controllerUrl = this.controller.url;
    const onStart = (agent: AgentProcess, ctx: ContainerContext) => this.agents.push({ pod: ctx.pod.metadata!.name!, uid: ctx.pod.metadata!.uid!, agent });
    this.node = await TestNode.start({
      kubeConfig: kc,
      log: this.log,
      runners: [
        elasticsearchRunner({ hostsFile: this.dns.file }),
        // The webhook injects the image the controller is told (--agent-image): the image runner matches that name.
        "image" in this.agent
          ? agentImageRunner({ image: this.agent.image, controllerUrl, hostsFile: this.dns.file, onStart })
          : agentRunner({ runtime: "bun-binary", controllerUrl, onStart }),
      ],
    });
    await eventually(() => this.core.readNamespacedServiceAccount({ name: "default", namespace: NS }), { timeoutMs: 30_000, what: "default ServiceAccount" });
    if (workload) await this.createWorkload();
  }

  private async createWorkload(): Promise<void> {
    this.httpCaPem = await createQuickstart(this.cp.kubeConfig());
  }

  /** The controller process, with the same flags every time (the health gate on, its default). */
  private async startController(samePortsAs?: ControllerProcess): Promise<ControllerProcess> {
    return ControllerProcess.start({
      kubeconfig: await this.cp.kubeconfigFor(CONTROLLER_USER, ["system:masters"]),
      name: "controller-0",
      namespace: "es-mtls-system",
      extraArgs: ["--resync=10s", `--agent-image=${"image" in this.agent ? this.agent.image : "es-mtls-agent:test"}`, ...this.controllerArgs],
      ...(samePortsAs ? { samePortsAs } : {}),
    });
  }

  /** Kills the controller with SIGKILL and starts it again on the same ports (agents and the webhook keep its URLs). */
  async killAndRestartController(): Promise<void> {
    const old = this.controller!;
    await old.stop("SIGKILL");
    this.controller = await this.startController(old);
    await this.controller.waitReady(60_000);
  }

  async setAuthentication(on: boolean): Promise<void> {
    await this.custom.patchNamespacedCustomObject(
      { ...ELASTICSEARCH, namespace: NS, name: ES_NAME, body: [{ op: "add", path: "/spec/http", value: { tls: { client: { authentication: on } } } }] },
    );
  }

  async status(): Promise<Record<string, any> | undefined> {
    try {
      return ((await this.custom.getNamespacedCustomObject({ ...CLIENT_AUTHENTICATION, namespace: NS, name: ES_NAME })) as { status?: Record<string, any> }).status;
    } catch {
      return undefined; // not created yet
    }
  }

  async elasticsearch(): Promise<{ metadata: k8s.V1ObjectMeta }> {
    return (await this.custom.getNamespacedCustomObject({ ...ELASTICSEARCH, namespace: NS, name: ES_NAME })) as { metadata: k8s.V1ObjectMeta };
  }

  /** The PodDisruptionBudget's status as the disruption controller last wrote it, one line. */
  async disruptionBudget(): Promise<string> {
    const pdb = await this.cp.kubeConfig().makeApiClient(k8s.PolicyV1Api).readNamespacedPodDisruptionBudget({ name: `${ES_NAME}-es-default`, namespace: NS });
    const st = pdb.status;
    const disrupted = Object.entries(st?.disruptedPods ?? {}).map(([pod, at]) => `${pod}@${new Date(at).toISOString()}`);
    return `allowed ${st?.disruptionsAllowed}, healthy ${st?.currentHealthy}/${st?.desiredHealthy} of ${st?.expectedPods}, generation ${st?.observedGeneration}/${pdb.metadata?.generation}, disrupted [${disrupted.join(", ")}]`;
  }

  async pods(): Promise<k8s.V1Pod[]> {
    return (await this.core.listNamespacedPod({ namespace: NS, labelSelector: ES_SELECTOR })).items.sort((a, b) => a.metadata!.name!.localeCompare(b.metadata!.name!));
  }

  async secret(name: string): Promise<Record<string, string> | undefined> {
    try {
      const s = await this.core.readNamespacedSecret({ name, namespace: namespaceOf(name) });
      return Object.fromEntries(Object.entries(s.data ?? {}).map(([k, v]) => [k, Buffer.from(v, "base64").toString()]));
    } catch {
      return undefined;
    }
  }

  /** Stops every process this started, each step even if an earlier one failed. */
  async stop(): Promise<void> {
    const steps: Array<() => unknown> = [() => this.node?.stop(), () => this.dns?.stop(), () => this.controller?.stop(), () => killAllProcesses(), () => killAll(), () => this.cp.stop()];
    for (const s of steps) {
      try {
        await s();
      } catch (e) {
        this.log(`teardown: ${(e as Error).message}`);
      }
    }
  }
}


/**
 * The ECK-shaped `quickstart` in namespace NS: its Elasticsearch resource, HTTP certificate and
 * elastic-user Secrets, config Secret, Services, StatefulSet and PDB. Returns the HTTP CA (PEM).
 */
export async function createQuickstart(kc: k8s.KubeConfig): Promise<string> {
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const httpCa = await TestCA.create(`${ES_NAME}-es-http-ca`);
  // As ECK's HTTP certificate: Service names, no pod IPs; clients verify the CA, not the host.
  const svc = `${ES_NAME}-es-http`;
  const http = await httpCa.issue({ cn: svc, server: { dns: [svc, `${svc}.${NS}`, `${svc}.${NS}.svc`], ips: [] } });
  const secret = (name: string, stringData: Record<string, string>) => core.createNamespacedSecret({ namespace: NS, body: { metadata: { name, labels: { "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME } }, stringData } });
  await secret(`${ES_NAME}-es-http-certs-internal`, { "tls.crt": http.certPem, "tls.key": http.key, "ca.crt": httpCa.pem });
  await secret(`${ES_NAME}-es-elastic-user`, { elastic: PASSWORD });
  // As ECK publishes the HTTP CA for clients; the controller's health gate verifies the pods with it.
  await secret(`${ES_NAME}-es-http-certs-public`, { "ca.crt": httpCa.pem, "tls.crt": http.certPem });
  // ECK renders elasticsearch.yml into a Secret; the injected env settings win over it.
  const yml = [
    `cluster.name: ${ES_NAME}`,
    "network.host: 0.0.0.0",
    `discovery.seed_hosts: [${ES_NAME}-es-transport]`,
    // As ECK bootstraps a new cluster; the stand-in counts these as the nodes expected, so its
    // /_cluster/health is yellow while one pod is missing and green when all are back.
    `cluster.initial_master_nodes: [${Array.from({ length: REPLICAS }, (_, i) => `${STS}-${i}`).join(", ")}]`,
    "xpack.security.http.ssl.enabled: true",
    `xpack.security.http.ssl.key: ${CONFIG}/http-certs/tls.key`,
    `xpack.security.http.ssl.certificate: ${CONFIG}/http-certs/tls.crt`,
    `xpack.security.http.ssl.certificate_authorities: [${CONFIG}/http-certs/ca.crt]`,
  ].join("\n");
  await secret(`${STS}-es-config`, { "elasticsearch.yml": yml });
  const ports = [{ name: "http", port: 9200 }, { name: "transport", port: 9300 }];
  const service = (name: string, headless: boolean) =>
    core.createNamespacedService({ namespace: NS, body: { metadata: { name }, spec: { ...(headless ? { clusterIP: "None", publishNotReadyAddresses: true } : {}), selector: ES_LABELS, ports } } });
  await service(STS, true);
  await service(`${ES_NAME}-es-transport`, true);
  await service(svc, false);
  await kc.makeApiClient(k8s.CustomObjectsApi).createNamespacedCustomObject({
    ...ELASTICSEARCH,
    namespace: NS,
    // es-mtls's standalone CRDs: the object says it is not ECK's, as deploy/standalone-crds/'s policy requires.
    body: { apiVersion: "elasticsearch.k8s.elastic.co/v1", kind: "Elasticsearch", metadata: { name: ES_NAME, annotations: { [ECK_MANAGED_ANNOTATION]: "false" } }, spec: { version: "9.4.0", nodeSets: [{ name: "default", count: REPLICAS }] } },
  });
  await kc.makeApiClient(k8s.AppsV1Api).createNamespacedStatefulSet({ namespace: NS, body: statefulSet() });
  await kc.makeApiClient(k8s.PolicyV1Api).createNamespacedPodDisruptionBudget({
    namespace: NS,
    body: { metadata: { name: `${ES_NAME}-es-default` }, spec: { maxUnavailable: 1, selector: { matchLabels: { "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME } } } },
  });
  return httpCa.pem;
}

/** The StatefulSet ECK would create for nodeSet `default`, as far as the stand-in needs it. */
function statefulSet(): k8s.V1StatefulSet {
  return {
    metadata: { name: STS, labels: ES_LABELS },
    spec: {
      replicas: REPLICAS,
      serviceName: STS,
      podManagementPolicy: "Parallel", // as ECK
      selector: { matchLabels: { "elasticsearch.k8s.elastic.co/cluster-name": ES_NAME, "elasticsearch.k8s.elastic.co/statefulset-name": STS } },
      template: {
        metadata: { labels: ES_LABELS },
        spec: {
          terminationGracePeriodSeconds: 5,
          containers: [{
            name: "elasticsearch",
            image: "docker.elastic.co/elasticsearch/elasticsearch:9.4.0",
            ports: [{ name: "https", containerPort: 9200 }, { name: "transport", containerPort: 9300 }],
            env: [
              { name: "node.name", valueFrom: { fieldRef: { fieldPath: "metadata.name" } } },
              { name: "ELASTIC_PASSWORD", valueFrom: { secretKeyRef: { name: `${ES_NAME}-es-elastic-user`, key: "elastic" } } },
            ],
            // A TCP check, as ECK's readiness port: the kubelet presents no client certificate.
            readinessProbe: { tcpSocket: { port: 9200 as never }, periodSeconds: 1 },
            volumeMounts: [
              { name: "http-certs", mountPath: `${CONFIG}/http-certs` },
              { name: "config", mountPath: `${CONFIG}/elasticsearch.yml`, subPath: "elasticsearch.yml" },
            ],
          }],
          volumes: [
            { name: "http-certs", secret: { secretName: `${ES_NAME}-es-http-certs-internal` } },
            { name: "config", secret: { secretName: `${STS}-es-config` } },
          ],
        },
      },
    },
  };
}
