// A full garbage collection after bursts of cache changes (issue 21). Thousands of watch events in
// a few seconds (5,000 labelled Secrets created, then deleted) make every reconcile of the cluster
// rebuild its bundle over thousands of sources; JSC collects lazily, so the garbage of those
// rebuilds piled up to a 286 MiB peak with ~15 MiB live. A synchronous collection every `every`
// changes (at most once per `minIntervalMs`) bounds the pile; an idle or slowly changing cluster
// never triggers one.
export class ChurnCollector {
  private changes = 0;
  private last = -Infinity;
  /** Collections run so far (tests read it). */
  collections = 0;

  constructor(
    private readonly every = 500,
    private readonly minIntervalMs = 2_000,
    private readonly collect: () => void = () => Bun.gc(true),
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** One cache change (add, update or delete). */
  note(): void {
    if (++this.changes < this.every) return;
    const now = this.now();
    if (now - this.last < this.minIntervalMs) return;
    this.changes = 0;
    this.last = now;
    this.collections++;
    this.collect();
  }
}
