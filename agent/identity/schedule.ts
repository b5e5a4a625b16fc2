// When to renew the pod's certificate, and how long to wait after a failure.
import { backoffDelay, type BackoffOptions } from "../../common/backoff.ts";

const DEFAULT_RENEW_FRACTION = 2 / 3;

/**
 * When to renew: at `fraction` of the lifetime, jittered ±10 % of that point so a
 * fleet issued together does not renew together; never later than 95 % of the lifetime.
 */
export function renewalTime(notBefore: Date, notAfter: Date, fraction = DEFAULT_RENEW_FRACTION, random = Math.random): Date {
  const f = fraction > 0 && fraction < 1 ? fraction : DEFAULT_RENEW_FRACTION;
  const jittered = Math.min(0.95, f * (1 + (random() * 2 - 1) * 0.1));
  const life = notAfter.getTime() - notBefore.getTime();
  return new Date(notBefore.getTime() + life * jittered);
}

/**
 * The renewal time of a certificate just issued at `issuedAt`: its life counted from then, not from
 * its notBefore, which the controller back-dates (10 min) for clock skew. Counted from notBefore, a
 * certificate valid for less than ~30 min would be due for renewal the moment it arrives (seen with
 * `--agent-cert-validity=75s`: every agent re-issuing until rate-limited, every Kibana restarted in a loop).
 */
export function renewalAfterIssue(notBefore: Date, notAfter: Date, issuedAt: Date, fraction = DEFAULT_RENEW_FRACTION, random = Math.random): Date {
  return renewalTime(new Date(Math.max(notBefore.getTime(), Math.min(issuedAt.getTime(), notAfter.getTime()))), notAfter, fraction, random);
}

/**
 * Delay before retry number `attempt` (0-based) of a failed apply: the project's backoff
 * (common/backoff.ts, equal jitter), but never more than a fraction (default 1/3) of the
 * remaining validity (at least 1 s), so repeated failures still leave several tries
 * before the certificate on disk expires.
 */
export function retryDelay(attempt: number, now: Date, notAfter: Date | undefined, opts: BackoffOptions & { remainingFraction?: number }, random = Math.random): number {
  const d = backoffDelay(attempt, opts, random);
  if (!notAfter) return d;
  const remaining = notAfter.getTime() - now.getTime();
  if (remaining <= 0) return d;
  return Math.min(d, Math.round(Math.max(1000, remaining * (opts.remainingFraction ?? 1 / 3))));
}
