// Validity and rotation defaults, as ECK's --cert-validity / --cert-rotate-before and
// --ca-cert-validity / --ca-cert-rotate-before.

const HOUR_MS = 60 * 60 * 1000;
export const DEFAULT_VALIDITY_MS = 365 * 24 * HOUR_MS;
export const DEFAULT_ROTATE_BEFORE_MS = 24 * HOUR_MS;
/** NotBefore is back-dated so a peer whose clock is a little behind still accepts the certificate. */
export const NOT_BEFORE_BACKDATE_MS = 10 * 60 * 1000;

/** True once `now` is inside the rotate-before window that precedes `notAfter`. */
export function shouldRotate(now: Date, notAfter: Date, rotateBeforeMs: number = DEFAULT_ROTATE_BEFORE_MS): boolean {
  return now.getTime() >= notAfter.getTime() - rotateBeforeMs;
}

/**
 * Milliseconds until rotation is due (0 when already due), plus one second so a requeue at
 * exactly this delay lands inside the window rather than on its edge.
 */
export function rotateIn(now: Date, notAfter: Date, rotateBeforeMs: number = DEFAULT_ROTATE_BEFORE_MS): number {
  const due = notAfter.getTime() - rotateBeforeMs - now.getTime();
  return due <= 0 ? 0 : due + 1000;
}
