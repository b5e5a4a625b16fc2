// How many certificates one pod may have signed: a token bucket per pod UID. An agent needs one
// certificate per renewal (days apart) plus a few retries; a pod asking for more is broken or
// hostile, and each signature costs the controller CPU and grows what the CA has vouched for.

interface SigningLimitOptions {
  /** Signatures a pod may have at once (a fresh pod, a few retries). */
  burst: number;
  /** One more signature is allowed every this many ms. */
  refillMs: number;
  now?: () => number;
}

const DEFAULT_SIGNING_LIMIT: SigningLimitOptions = { burst: 5, refillMs: 60_000 };

export class SigningLimit {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();
  private readonly now: () => number;

  constructor(private readonly o: SigningLimitOptions = DEFAULT_SIGNING_LIMIT) {
    this.now = o.now ?? Date.now;
  }

  /** Takes one signature for `podUid`; false (and how long to wait) when its bucket is empty. */
  take(podUid: string): { ok: true } | { ok: false; retryAfterMs: number } {
    const now = this.now();
    const b = this.buckets.get(podUid);
    const tokens = b ? Math.min(this.o.burst, b.tokens + (now - b.at) / this.o.refillMs) : this.o.burst;
    if (tokens < 1) {
      this.buckets.set(podUid, { tokens, at: now });
      return { ok: false, retryAfterMs: Math.ceil((1 - tokens) * this.o.refillMs) };
    }
    this.buckets.delete(podUid); // re-insert: the Map stays ordered oldest first, for the bound below
    this.buckets.set(podUid, { tokens: tokens - 1, at: now });
    if (this.buckets.size > 50_000) this.buckets.delete(this.buckets.keys().next().value!);
    return { ok: true };
  }
}
