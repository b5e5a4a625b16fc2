// What the controller sees of ECK's licensing, for policy/license.ts to judge. ECK counts as
// installed when `--operator-namespace` is set and that namespace exists: read with the cluster-wide
// namespace list/watch the controller already holds (deploy/rbac.yaml), so the answer never hangs on
// a grant in a namespace that may not exist. Only while it exists is its `elastic-licensing`
// ConfigMap watched (that grant is deploy/eck/'s); without ECK nothing there is read or needed.
// A ConfigMap that cannot be read (403) is reported as unknown with the apiserver's reason, never
// as "no ECK", and logged as a warning.
import type { V1ConfigMap, V1Namespace } from "@kubernetes/client-node";
import type { LicensingObservation } from "../policy/license.ts";
import { LICENSING_CONFIGMAP } from "../names.ts";
import { log } from "../log.ts";
import { apiErrorMessage, isForbidden } from "./api-error.ts";

/** One list+watch as kube/informers.ts's caches run it. */
export interface Watched<T> {
  start(): Promise<void>;
  stop(): Promise<void>;
  list(): readonly T[];
  /** The list succeeded once. */
  readonly loaded: boolean;
  /** Why it is not loaded: the last failure. */
  readonly failure: unknown;
}

/** Opens a watch; `changed` runs on every event and whenever it loads or fails. */
type Open<T> = (changed: () => void) => Watched<T>;

/** What the reconciler and the webhooks ask (fakes implement it in tests). */
export interface LicensingSource {
  observe(): LicensingObservation;
}

export class EckLicensing implements LicensingSource {
  private readonly namespace: Watched<V1Namespace> | undefined;
  private configMap: Watched<V1ConfigMap> | undefined;
  private stopped = false;
  private last = "";
  /** The last answer given while no first read of the ConfigMap was under way. */
  private settled: LicensingObservation | undefined;

  constructor(
    /** --operator-namespace; empty: no ECK, nothing watched. */
    private readonly operatorNamespace: string,
    private readonly open: { namespace: Open<V1Namespace>; configMap: Open<V1ConfigMap> },
    /** The observation changed: every cluster's licence verdict may have. */
    private readonly onChange: () => void,
  ) {
    if (operatorNamespace) this.namespace = open.namespace(() => void this.follow());
  }

  async start(): Promise<void> {
    await this.namespace?.start();
    await this.follow();
  }

  /** Ready to answer: the namespace listed (or not configured), and the ConfigMap's first read over. Unreadable is an answer: it never holds readiness. */
  get synced(): boolean {
    return !this.namespace || (this.namespace.loaded && !this.firstRead());
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all([this.namespace?.stop(), this.configMap?.stop()]);
  }

  observe(): LicensingObservation {
    // While ECK's ConfigMap is read for the first time after its namespace appeared (one list), the
    // last answer stands: no cluster flips to "unknown" and back (a Warning Event each) meanwhile.
    if (this.settled && this.settled.eck !== "unknown" && this.firstRead()) return this.settled;
    return this.current();
  }

  private current(): LicensingObservation {
    const namespace = this.operatorNamespace;
    if (!this.namespace) return { eck: "off" };
    if (!this.namespace.loaded) return { eck: "unknown", namespace, why: `namespace ${namespace} not listed yet${reason(this.namespace.failure)}` };
    if (this.namespace.list().length === 0) return { eck: "absent", namespace };
    const cm = this.configMap;
    const name = `ConfigMap ${namespace}/${LICENSING_CONFIGMAP}`;
    if (!cm?.loaded) {
      const why = cm?.failure === undefined ? `${name} not read yet` : `${name} cannot be read${isForbidden(cm.failure) ? " (forbidden)" : ""}${reason(cm.failure)}`;
      return { eck: "unknown", namespace, why };
    }
    return { eck: "installed", namespace, configMap: cm.list()[0] };
  }

  /** Watches the ConfigMap exactly while the operator namespace exists, then reports. */
  private async follow(): Promise<void> {
    const exists = !!this.namespace?.loaded && this.namespace.list().length > 0;
    if (exists && !this.configMap && !this.stopped) {
      this.configMap = this.open.configMap(() => this.report());
      this.report();
      await this.configMap.start();
    } else if (!exists && this.configMap) {
      const gone = this.configMap;
      this.configMap = undefined;
      await gone.stop();
    }
    this.report();
  }

  /** The ConfigMap is watched and its first list has neither succeeded nor failed yet. */
  private firstRead(): boolean {
    return !!this.configMap && !this.configMap.loaded && this.configMap.failure === undefined;
  }

  private report(): void {
    const observed = this.observe();
    if (!this.firstRead()) this.settled = observed;
    const now = JSON.stringify(observed);
    if (now === this.last) return;
    const before = this.last;
    this.last = now;
    const fields = { operatorNamespace: this.operatorNamespace, eck: observed.eck, ...(observed.eck === "unknown" ? { why: observed.why } : {}) };
    // "Not read yet" is a moment of every start; a failed read is what an operator must fix.
    const failure = this.namespace?.loaded ? this.configMap?.failure : this.namespace?.failure;
    if (observed.eck === "unknown" && failure !== undefined) log.warn("ECK licensing unknown: enabling client authentication is refused until it can be read", fields);
    else if (!before || JSON.parse(before).eck !== observed.eck) log.info("ECK licensing", fields);
    this.onChange();
  }
}

function reason(failure: unknown): string {
  return failure === undefined ? "" : `: ${apiErrorMessage(failure)}`;
}
