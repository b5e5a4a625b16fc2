// Leader election on a coordination.k8s.io Lease, with client-go's timing rules
// (k8s.io/client-go/tools/leaderelection):
//  - a candidate never trusts the holder's renewTime (another machine's clock): it records
//    when IT observed the lease record change, on its own monotonic clock, and takes over
//    only once leaseDuration has passed since that observation with no change;
//  - the leader renews every retry period and stops leading (onStoppedLeading) when it has
//    not renewed within renewDeadline (default 2/3 of the lease), measured from when the
//    last successful renew was sent. renewDeadline < leaseDuration, so a leader that was
//    paused or cut off gives up before any candidate can take over;
//  - `leading` is false past the renew deadline even before the step-down has run (a
//    process resumed after SIGSTOP must not act on timers that fire before it).
// The apiserver's resourceVersion check makes acquire/renew a compare-and-swap.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { ConfigError } from "../errors.ts";
import { apiErrorMessage, isNotFound } from "./api-error.ts";

/**
 * Lease times are MicroTime: the apiserver wants exactly six fractional digits, which
 * client-node's Date serialization (milliseconds) does not give, so send the string.
 */
function microTime(d: Date): Date {
  return d.toISOString().replace(/Z$/, "000Z") as unknown as Date;
}

interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  /** How long a candidate waits, after it last saw the lease change, before taking over. */
  leaseDurationMs: number;
  /** How long the leader tries to renew before it stops leading; default 2/3 of leaseDurationMs. */
  renewDeadlineMs?: number;
  /** How often candidates try and the leader renews. */
  retryMs: number;
  onStartedLeading: () => void;
  onStoppedLeading: () => void;
  /** Monotonic milliseconds (default performance.now); not the wall clock. */
  now?: () => number;
}

type LeaseApi = Pick<k8s.CoordinationV1Api, "readNamespacedLease" | "createNamespacedLease" | "replaceNamespacedLease">;

export class LeaderElector {
  private readonly api: LeaseApi;
  private readonly now: () => number;
  private readonly renewDeadlineMs: number;
  private timer?: ReturnType<typeof setTimeout>;
  private deadlineTimer?: ReturnType<typeof setTimeout>;
  private stopped = false;
  private isLeader = false;
  /** The lease record last seen (holder, times, transitions) and when this process saw it change. */
  private observedRecord?: string;
  private observedAt = 0;
  /** When the last successful acquire/renew was sent: monotonic, and wall time for logs. */
  private lastRenewSent = 0;
  private lastRenewSentWall = 0;

  constructor(kc: k8s.KubeConfig, private readonly o: LeaderElectionOptions, api?: LeaseApi) {
    this.api = api ?? kc.makeApiClient(k8s.CoordinationV1Api);
    this.now = o.now ?? (() => performance.now());
    this.renewDeadlineMs = o.renewDeadlineMs ?? Math.floor((o.leaseDurationMs * 2) / 3);
    if (!(this.renewDeadlineMs < o.leaseDurationMs)) throw new ConfigError(`renew deadline (${this.renewDeadlineMs} ms) must be shorter than the lease duration (${o.leaseDurationMs} ms)`);
    if (!(o.retryMs < this.renewDeadlineMs)) throw new ConfigError(`retry period (${o.retryMs} ms) must be shorter than the renew deadline (${this.renewDeadlineMs} ms)`);
  }

  /** True only while this replica holds the lease and is within its renew deadline. */
  get leading(): boolean {
    return this.isLeader && !this.pastRenewDeadline();
  }

  start() {
    void this.tick();
  }

  private pastRenewDeadline(): boolean {
    return this.now() - this.lastRenewSent >= this.renewDeadlineMs;
  }

  private schedule() {
    if (!this.stopped) this.timer = setTimeout(() => void this.tick(), this.o.retryMs);
  }

  private async tick() {
    // First, before any request: a leader resumed after a pause steps down at once.
    this.checkDeadline();
    try {
      await this.tryAcquireOrRenew();
    } catch (e) {
      log.debug("lease attempt failed", { lease: this.o.name, error: apiErrorMessage(e) });
    }
    this.checkDeadline();
    this.schedule();
  }

  private checkDeadline() {
    if (this.isLeader && this.pastRenewDeadline()) {
      this.stepDown(`could not renew the lease within the renew deadline (${this.renewDeadlineMs} ms)`);
    }
  }

  private stepDown(why: string) {
    if (!this.isLeader) return;
    this.isLeader = false;
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    metrics.set("es_mtls_controller_leader", {}, 0);
    log.error("stopped leading", {
      lease: this.o.name,
      identity: this.o.identity,
      why,
      // The last moment this replica could have acted as leader.
      leaderUntil: new Date(this.lastRenewSentWall + this.renewDeadlineMs).toISOString(),
    });
    this.o.onStoppedLeading();
  }

  private renewed(sentAt: number, sentAtWall: number) {
    // An answer that took longer than the deadline does not make (or keep) a leader.
    if (this.now() - sentAt >= this.renewDeadlineMs) return;
    this.lastRenewSent = sentAt;
    this.lastRenewSentWall = sentAtWall;
    // A timer at the deadline: it fires before any timer due later, even after a pause.
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    this.deadlineTimer = setTimeout(() => this.checkDeadline(), Math.max(0, sentAt + this.renewDeadlineMs - this.now()));
    if (this.isLeader) return;
    this.isLeader = true;
    metrics.set("es_mtls_controller_leader", {}, 1);
    log.info("became leader", { lease: this.o.name, identity: this.o.identity });
    this.o.onStartedLeading();
  }

  private spec(acquireTime: Date | undefined, transitions: number, at: Date): k8s.V1LeaseSpec {
    return {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      acquireTime: acquireTime ?? microTime(at),
      renewTime: microTime(at),
      leaseTransitions: transitions,
    };
  }

  private observe(spec: k8s.V1LeaseSpec | undefined, at: number) {
    const record = JSON.stringify([spec?.holderIdentity ?? "", String(spec?.renewTime ?? ""), String(spec?.acquireTime ?? ""), spec?.leaseTransitions ?? 0, spec?.leaseDurationSeconds ?? 0]);
    if (record === this.observedRecord) return;
    this.observedRecord = record;
    this.observedAt = at;
  }

  private async tryAcquireOrRenew() {
    const { namespace, name } = this.o;
    const sentAt = this.now();
    const sentAtWall = Date.now();
    let lease: k8s.V1Lease;
    try {
      lease = await this.api.readNamespacedLease({ name, namespace });
    } catch (e) {
      if (!isNotFound(e)) throw e;
      const spec = this.spec(undefined, 0, new Date(sentAtWall));
      metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Lease" });
      await this.api.createNamespacedLease({ namespace, body: { metadata: { name, namespace }, spec } });
      this.observe(spec, this.now());
      this.renewed(sentAt, sentAtWall);
      return;
    }
    const spec = lease.spec ?? {};
    this.observe(spec, this.now());
    const holder = spec.holderIdentity;
    if (holder && holder !== this.o.identity) {
      // Someone else holds it: this replica is no leader, whatever it thought.
      this.stepDown(`the lease is held by ${holder}`);
      const durationMs = (spec.leaseDurationSeconds ?? Math.ceil(this.o.leaseDurationMs / 1000)) * 1000;
      if (this.now() - this.observedAt < durationMs) return; // not expired by this replica's own observation
    }
    const renewing = holder === this.o.identity;
    const next = this.spec(renewing ? spec.acquireTime : undefined, (spec.leaseTransitions ?? 0) + (renewing ? 0 : 1), new Date(sentAtWall));
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "update", resource: "Lease" });
    await this.api.replaceNamespacedLease({ name, namespace, body: { ...lease, spec: next } });
    this.observe(next, this.now());
    this.renewed(sentAt, sentAtWall);
  }

  /** Gives the lease up so a standby takes over at once (clean shutdown). */
  async release() {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deadlineTimer) clearTimeout(this.deadlineTimer);
    if (!this.isLeader) return;
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
    this.isLeader = false;
  }
}
