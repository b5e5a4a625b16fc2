// Capped exponential backoff with one jitter rule for the whole project: "equal
// jitter" (half the step fixed, half random), so a retry never fires almost at once
// after a failure yet a fleet that failed together spreads out over the other half.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/** Delay before retry number `attempt` (0-based): min·2^attempt capped at max, then equal jitter. */
export function backoffDelay(attempt: number, opts: BackoffOptions, random: () => number = Math.random): number {
  const step = Math.min(opts.maxMs, opts.minMs * 2 ** Math.min(Math.max(0, attempt), 30));
  return Math.round(Math.max(opts.minMs, step / 2 + (random() * step) / 2));
}

/** Stateful helper for a retry loop: `next()` gives the delay and counts; `reset()` after a success. */
export class Backoff {
  private attempt = 0;
  constructor(private readonly opts: BackoffOptions, private readonly random: () => number = Math.random) {}
  next(): number {
    return backoffDelay(this.attempt++, this.opts, this.random);
  }
  reset(): void {
    this.attempt = 0;
  }
  get attempts(): number {
    return this.attempt;
  }
}
