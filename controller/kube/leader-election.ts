// Leader election on a coordination.k8s.io Lease. Only the leader writes. The
// apiserver's resourceVersion check makes acquire/renew a compare-and-swap, so two
// replicas can never both believe they won. A leader that cannot renew before its
// lease runs out steps down (the process exits and restarts as a candidate).
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";

/**
 * Lease times are MicroTime: the apiserver wants exactly six fractional digits, which
 * client-node's Date serialization (milliseconds) does not give, so send the string.
 */
function microTime(d: Date): Date {
  return d.toISOString().replace(/Z$/, "000Z") as unknown as Date;
}

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  retryMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
}

export class LeaderElector {
  private readonly api: k8s.CoordinationV1Api;
  private timer?: ReturnType<typeof setTimeout>;
  private lastRenew = 0;
  private stopped = false;
  leading = false;

  constructor(kc: k8s.KubeConfig, private readonly o: LeaderElectionOptions) {
    this.api = kc.makeApiClient(k8s.CoordinationV1Api);
  }

  start() {
    void this.tick();
  }

  private schedule() {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.retryMs);
  }

  private async tick() {
    try {
      await this.tryAcquireOrRenew();
    } catch (e: any) {
      log.debug("lease attempt failed", { lease: this.o.name, error: String(e?.body?.message ?? e) });
    }
    if (this.leading && Date.now() - this.lastRenew > this.o.leaseDurationMs) {
      log.error("could not renew the lease in time; stepping down", { lease: this.o.name });
      this.setLeading(false);
    }
    this.schedule();
  }

  private setLeading(leading: boolean) {
    if (leading === this.leading) return;
    this.leading = leading;
    metrics.set("es_mtls_controller_leader", {}, leading ? 1 : 0);
    log.info(leading ? "became leader" : "lost leadership", { lease: this.o.name, identity: this.o.identity });
    if (leading) this.o.onStartedLeading();
    else this.o.onStoppedLeading();
  }

  private spec(acquireTime: Date | undefined, transitions: number): k8s.V1LeaseSpec {
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: acquireTime ?? microTime(new Date()),
      renewTime: microTime(new Date()),
      leaseTransitions: transitions,
    };
  }

  private async tryAcquireOrRenew() {
    const { namespace, name } = this.o;
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e: any) {
      if (e?.code !== 404) throw e;
      metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Lease" });
      await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec: this.spec(undefined, 0) } });
      this.lastRenew = Date.now();
      this.setLeading(true);
      return;
    }
    const spec = lease.spec ?? {};
    const holder = spec.holderIdentity;
    const renewedAt = spec.renewTime ? new Date(spec.renewTime as unknown as string).getTime() : 0;
    const durationMs = (spec.leaseDurationSeconds ?? 0) * 1000;
    if (holder === this.o.identity) {
      // Renew a little before half the lease is gone.
      if (Date.now() - this.lastRenew < this.o.leaseDurationMs / 3 && this.leading) return;
      metrics.inc("es_mtls_controller_api_writes_total", { verb: "update", resource: "Lease" });
      await this.api.replaceNamespacedLease({
        name,
        namespace,
        body: { ...lease, spec: this.spec(spec.acquireTime, spec.leaseTransitions ?? 0) },
      });
      this.lastRenew = Date.now();
      this.setLeading(true);
      return;
    }
    if (this.leading) this.setLeading(false); // someone else holds it now
    if (holder && Date.now() - renewedAt < durationMs) return; // held and fresh
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "update", resource: "Lease" });
    await this.api.replaceNamespacedLease({
      name,
      namespace,
      body: { ...lease, spec: this.spec(undefined, (spec.leaseTransitions ?? 0) + 1) },
    });
    this.lastRenew = Date.now();
    this.setLeading(true);
  }

  /** Gives the lease up so a standby takes over at once (clean shutdown). */
  async release() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (!this.leading) return;
    try {
      const lease = await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
      if (lease.spec?.holderIdentity === this.o.identity) {
        metrics.inc("es_mtls_controller_api_writes_total", { verb: "update", resource: "Lease" });
        await this.api.replaceNamespacedLease({
          name: this.o.name,
          namespace: this.o.namespace,
          body: { ...lease, spec: { ...lease.spec, holderIdentity: undefined, renewTime: undefined } },
        });
      }
    } catch (e) {
      log.warn("releasing the lease failed", { error: String(e) });
    }
    this.leading = false;
  }
}
