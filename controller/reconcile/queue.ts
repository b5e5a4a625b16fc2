// A work queue of cluster keys ("namespace/name"): a key is queued at most once,
// processed by one worker at a time, and re-queued with capped exponential
// backoff (common/backoff.ts) when its reconcile fails (or at a requested time, e.g. a rotation).
import { log } from "../log.ts";
import { backoffDelay } from "../../common/backoff.ts";
import { apiErrorMessage } from "../kube/api-error.ts";

export class WorkQueue {
  private readonly queued = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, ReturnType<typeof setTimeout>>();
  private running = false;
  private active = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly handler: (key: string) => Promise<{ requeueAfterMs?: number } | void>,
    private readonly baseDelayMs = 250,
    private readonly maxDelayMs = 60_000,
  ) {}

  add(key: string) {
    this.queued.add(key);
    void this.pump();
  }

  addAfter(key: string, ms: number) {
    const existing = this.timers.get(key);
    if (existing) clearTimeout(existing);
    // setTimeout's limit is ~24.8 days; longer waits are re-armed by the periodic resync.
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, Math.min(ms, 2 ** 31 - 1));
    (t as { unref?: () => void }).unref?.();
    this.timers.set(key, t);
  }

  start() {
    this.running = true;
    void this.pump();
  }

  stop() {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }

  /** Resolves when nothing is queued or being processed (tests, shutdown). */
  idle(): Promise<void> {
    if (!this.active && this.queued.size === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private async pump() {
    if (!this.running || this.active) return;
    this.active = true;
    while (this.running && this.queued.size) {
      const key = this.queued.values().next().value as string;
      this.queued.delete(key);
      try {
        const result = await this.handler(key);
        this.failures.delete(key);
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (e) {
        const n = (this.failures.get(key) ?? 0) + 1;
        this.failures.set(key, n);
        const delay = backoffDelay(n - 1, { minMs: this.baseDelayMs, maxMs: this.maxDelayMs });
        log.warn("reconcile failed; retrying", { cluster: key, attempt: n, retryMs: delay, error: apiErrorMessage(e) });
        this.addAfter(key, delay);
      }
    }
    this.active = false;
    if (this.queued.size === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
