// When to prove: after every change of the material version, attempts repeat every
// `intervalMs` until one succeeds or `timeoutMs` passes (ES re-reads its files every
// 5 s); a version that changes meanwhile is proven instead. Every result is re-checked
// after `reproveMs`: a failed proof may succeed once the workload catches up, and a
// proven one may regress.
import type { Proof } from "../../protocol/intent.ts";
import type { ProofAttempt } from "./attempt.ts";

export interface ProofRecord extends Proof {
  ok: boolean;
  /** The material version this proof is about. */
  version: number;
}

interface ProofLoopOptions {
  timeoutMs: number;
  intervalMs: number;
  reproveMs: number;
}

interface ProofLoopDeps {
  attempt(): Promise<ProofAttempt>;
  /** The material version now; a proof is only about the version it started on. */
  version(): number;
  onResult(p: ProofRecord): void;
}

export class ProofLoop {
  /** The last completed proof. */
  last: ProofRecord | undefined;
  private running = false;
  private stopped = false;
  private timer: ReturnType<typeof setTimeout> | undefined;

  constructor(private readonly deps: ProofLoopDeps, private readonly opts: ProofLoopOptions) {}

  /** Proves the current version now, unless a proof is already under way (it follows version changes). */
  request(): void {
    clearTimeout(this.timer);
    if (this.running || this.stopped) return;
    this.running = true;
    void this.run().finally(() => {
      this.running = false;
    });
  }

  /** True when the last completed proof is about `version`. */
  isCurrent(version: number): boolean {
    return this.last?.version === version;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async run(): Promise<void> {
    for (;;) {
      const version = this.deps.version();
      const deadline = Date.now() + this.opts.timeoutMs;
      let last: ProofAttempt | undefined;
      while (!this.stopped && version === this.deps.version()) {
        last = await this.deps.attempt();
        if (last.ok || Date.now() >= deadline) break;
        await new Promise((r) => setTimeout(r, this.opts.intervalMs));
      }
      if (this.stopped) return;
      if (version !== this.deps.version() || !last) continue; // material changed meanwhile: prove the new one
      this.last = { ...last, checkedAt: new Date().toISOString(), version };
      this.deps.onResult(this.last);
      this.timer = setTimeout(() => this.request(), this.opts.reproveMs);
      return;
    }
  }
}
