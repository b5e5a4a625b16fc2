// A work queue of cluster keys ("namespace/name"): a key is queued at most once, up to
// `concurrency` different keys are processed at the same time (one slow cluster does not hold
// up the others), a key is never processed by two workers at once (added while it runs, it runs
// again afterwards, as client-go's workqueue), and it is re-queued with capped exponential
// backoff (common/backoff.ts) when its reconcile fails (or at a requested time, e.g. a rotation).
// Keys added by a change (`add`) go before keys added by the periodic resync (`addResync`), so a
// resync of every cluster never delays one cluster's change (measured: 3.7–4.8 s behind a
// resync of 1,000 clusters in one FIFO; bench/controller-scale.ts).
import { log } from "../log.ts";
import { backoffDelay } from "../../common/backoff.ts";
import { apiErrorMessage } from "../kube/api-error.ts";
import { ConfigError } from "../errors.ts";
import { metrics } from "../metrics.ts";

type Lane = "change" | "resync";

/** Clusters reconciled at the same time; each reconcile mostly waits on the apiserver. */
export const DEFAULT_QUEUE_CONCURRENCY = 4;

export class WorkQueue {
  /** Keys waiting, with when they were queued, changes first: `urgent` is always drained before `background`. */
  private readonly urgent = new Map<string, number>();
  private readonly background = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  /** Keys being processed now; never two workers on one key. */
  private readonly processing = new Set<string>();
  private running = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: (key: string) => Promise<{ requeueAfterMs?: number } | void>,
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 60_000,
    private readonly concurrency = DEFAULT_QUEUE_CONCURRENCY,
  ) {
    if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`queue concurrency must be a positive integer, got ${concurrency}`);
  }

  add(key: string) {
    // Before the queue runs (the caches' initial listing, before leadership) nothing is a change:
    // the leadership's first pass re-checks every cluster anyway.
    if (!this.running) return this.addResync(key);
    this.background.delete(key);
    if (!this.urgent.has(key)) this.urgent.set(key, performance.now());
    this.pump();
  }

  /** A periodic re-check: runs after every key queued by a change. */
  addResync(key: string) {
    if (!this.urgent.has(key) && !this.background.has(key)) this.background.set(key, performance.now());
    this.pump();
  }

  private get queuedCount(): number {
    return this.urgent.size + this.background.size;
  }

  /**
   * Queues `key` in `ms`: in the change lane (a retry after a failure), or in the resync lane (a
   * reconcile's own requeue: a rotation or expiry coming due, at the latest the resync period).
   * Requeues in the change lane had every cluster re-queued there each period while a slow initial
   * sync of 1,000 clusters ran, ahead of users' changes (issue 21).
   */
  addAfter(key: string, ms: number, lane: Lane = "change") {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    // setTimeout's limit is ~24.8 days; longer waits are re-armed by the periodic resync.
    const t = setTimeout(() => {
      this.timers.delete(key);
      if (lane === "change") this.add(key);
      else this.addResync(key);
    }, Math.min(ms, 2 ** 31 - 1));
    (t as { unref?: () => void }).unref?.();
    this.timers.set(key, t);
  }

  start() {
    this.running = true;
    this.pump();
  }

  stop() {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Resolves when nothing is queued or being processed (tests, shutdown). */
  idle(): Promise<void> {
    if (this.processing.size === 0 && this.queuedCount === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Starts workers for queued keys that no worker holds, up to the concurrency. */
  private pump() {
    if (!this.running) return;
    for (const [lane, name] of [[this.urgent, "change"], [this.background, "resync"]] as const) {
      for (const [key, queuedAt] of lane) {
        if (this.processing.size >= this.concurrency) return;
        if (this.processing.has(key)) continue;
        lane.delete(key);
        this.processing.add(key);
        void this.work(key, name, queuedAt);
      }
    }
  }

  private async work(key: string, lane: Lane, queuedAt: number) {
    // Where a change waits (issue 21): queued → started, and the reconcile itself, per lane.
    const started = performance.now();
    metrics.observe("es_mtls_controller_reconcile_queue_wait_seconds", { lane }, (started - queuedAt) / 1000);
    try {
      const result = await this.handler(key);
      this.failures.delete(key);
      if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs, "resync");
    } catch (e) {
      const n = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, n);
      const delay = backoffDelay(n - 1, { minMs: this.baseDelayMs, maxMs: this.maxDelayMs });
      log.warn("reconcile failed; retrying", { cluster: key, attempt: n, retryMs: delay, error: apiErrorMessage(e) });
      this.addAfter(key, delay);
    } finally {
      const ms = performance.now() - started;
      metrics.observe("es_mtls_controller_reconcile_duration_seconds", { lane }, ms / 1000);
      log.debug("reconciled", { cluster: key, lane, waitedMs: Math.round(started - queuedAt), tookMs: Math.round(ms), queued: this.queuedCount });
      this.processing.delete(key);
      this.pump();
      if (this.processing.size === 0 && (this.queuedCount === 0 || !this.running)) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        for (const w of waiters) w();
      }
    }
  }
}
