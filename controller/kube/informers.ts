// The controller's view of the cluster: list+watch caches, narrowed by label and
// field selectors so the controller never holds every Secret or Pod in memory.
// A watch that fails is restarted with capped backoff; callers see one change stream.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import {
  CLIENT_AUTHENTICATION,
  ECK_TYPE_LABEL,
  ELASTICSEARCH,
  KIBANA,
  LICENSING_CONFIGMAP,
  type ClientAuthentication,
  type CustomResource,
  type Elasticsearch,
  type Kibana,
} from "./resources.ts";
import { CLIENT_CERTIFICATE_LABEL } from "../trust/labels.ts";
import { MANAGED_BY, MANAGED_BY_LABEL } from "../trust/target.ts";

export type Kind = "elasticsearch" | "kibana" | "clientauth" | "clientCertSecret" | "managedSecret" | "pod" | "license";
export type ChangeHandler = (kind: Kind, obj: k8s.KubernetesObject, type: "add" | "update" | "delete") => void;

class Cache<T extends k8s.KubernetesObject> {
  readonly informer: k8s.ListWatch<T>;
  private restartDelay = 500;
  private stopped = false;
  synced = false;

  constructor(
    readonly kind: Kind,
    kc: k8s.KubeConfig,
    path: string,
    listFn: () => Promise<k8s.KubernetesListObject<T>>,
    onChange: ChangeHandler,
    labelSelector?: string,
    fieldSelector?: string,
  ) {
    this.informer = new k8s.ListWatch<T>(path, new k8s.Watch(kc), listFn, false, labelSelector, fieldSelector);
    for (const type of ["add", "update", "delete"] as const) {
      this.informer.on(type, (obj) => onChange(kind, obj, type));
    }
    this.informer.on("connect", () => {
      this.synced = true;
      this.restartDelay = 500;
    });
    this.informer.on("error", (err) => {
      if (this.stopped) return;
      log.warn("watch failed; restarting", { resource: kind, error: String(err?.message ?? err), retryMs: this.restartDelay });
      setTimeout(() => void this.start(), this.restartDelay).unref?.();
      this.restartDelay = Math.min(this.restartDelay * 2, 30_000);
    });
  }

  async start() {
    if (this.stopped) return;
    try {
      await this.informer.start();
      this.synced = true;
    } catch (err) {
      // the error handler above schedules the retry
      log.debug("initial list failed", { resource: this.kind, error: String(err) });
    }
  }

  async stop() {
    this.stopped = true;
    await this.informer.stop().catch(() => {});
  }

  list(namespace?: string): readonly T[] {
    return this.informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.informer.get(name, namespace);
  }
}

export class Caches {
  readonly elasticsearch: Cache<Elasticsearch>;
  readonly kibana: Cache<Kibana>;
  readonly clientAuth: Cache<ClientAuthentication>;
  /** Secrets labelled eck.k8s.elastic.co/client-certificate=true, cluster-wide. */
  readonly clientCertSecrets: Cache<k8s.V1Secret>;
  /** Secrets this controller made (CA, internal client cert, trust bundle). */
  readonly managedSecrets: Cache<k8s.V1Secret>;
  /** Elasticsearch and Kibana pods (ECK's type label). */
  readonly pods: Cache<k8s.V1Pod>;
  /** ECK's elastic-licensing ConfigMap in the operator namespace. */
  readonly license: Cache<k8s.V1ConfigMap>;

  constructor(kc: k8s.KubeConfig, operatorNamespace: string, onChange: ChangeHandler) {
    const custom = kc.makeApiClient(k8s.CustomObjectsApi);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const cr = <T extends k8s.KubernetesObject>(kind: Kind, r: CustomResource) =>
      new Cache<T>(kind, kc, `/apis/${r.group}/${r.version}/${r.plural}`, () => custom.listClusterCustomObject({ group: r.group, version: r.version, plural: r.plural }), onChange);
    this.elasticsearch = cr<Elasticsearch>("elasticsearch", ELASTICSEARCH);
    this.kibana = cr<Kibana>("kibana", KIBANA);
    this.clientAuth = cr<ClientAuthentication>("clientauth", CLIENT_AUTHENTICATION);
    const clientCertSelector = `${CLIENT_CERTIFICATE_LABEL}=true`;
    this.clientCertSecrets = new Cache("clientCertSecret", kc, "/api/v1/secrets", () => core.listSecretForAllNamespaces({ labelSelector: clientCertSelector }), onChange, clientCertSelector);
    const managedSelector = `${MANAGED_BY_LABEL}=${MANAGED_BY}`;
    this.managedSecrets = new Cache("managedSecret", kc, "/api/v1/secrets", () => core.listSecretForAllNamespaces({ labelSelector: managedSelector }), onChange, managedSelector);
    const podSelector = `${ECK_TYPE_LABEL} in (elasticsearch,kibana)`;
    this.pods = new Cache("pod", kc, "/api/v1/pods", () => core.listPodForAllNamespaces({ labelSelector: podSelector }), onChange, podSelector);
    const licenseField = `metadata.name=${LICENSING_CONFIGMAP}`;
    this.license = new Cache(
      "license",
      kc,
      `/api/v1/namespaces/${operatorNamespace}/configmaps`,
      () => core.listNamespacedConfigMap({ namespace: operatorNamespace, fieldSelector: licenseField }),
      onChange,
      undefined,
      licenseField,
    );
  }

  private all() {
    return [this.elasticsearch, this.kibana, this.clientAuth, this.clientCertSecrets, this.managedSecrets, this.pods, this.license] as Cache<k8s.KubernetesObject>[];
  }

  async start(): Promise<void> {
    await Promise.all(this.all().map((c) => c.start()));
  }

  get synced(): boolean {
    return this.all().every((c) => c.synced);
  }

  async stop(): Promise<void> {
    await Promise.all(this.all().map((c) => c.stop()));
  }
}
