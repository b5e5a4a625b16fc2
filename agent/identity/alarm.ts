// One pending wake-up at a time (a renewal, a retry): setting it again replaces the last one.
// setTimeout caps at ~24.8 days; a later time wakes early, and the reconcile it triggers re-checks.

export class Alarm {
  private timer: ReturnType<typeof setTimeout> | undefined;

  /** Calls `fn` at `atMs` (epoch ms), or now if that has passed; undefined only clears. */
  at(atMs: number | undefined, fn: () => void): void {
    this.clear();
    if (atMs === undefined || !Number.isFinite(atMs)) return;
    this.timer = setTimeout(fn, Math.min(Math.max(0, atMs - Date.now()), 2 ** 31 - 1));
  }

  clear(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
