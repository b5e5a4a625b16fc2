// Status reports to the controller. Reports coalesce (only the newest state matters)
// and a failed send is retried with the project's backoff (common/backoff.ts); a
// controller outage never blocks the agent.
import { Backoff } from "../../common/backoff.ts";
import { PATHS, type StatusReport } from "../../protocol/intent.ts";
import type { ControllerClient } from "../controller-client.ts";
import { errorMessage, logger } from "../log.ts";

/** The reporter collaborator as the orchestrator sees it: "the state changed, tell the controller". */
export interface StatusSink {
  report(): void;
  stop(): void;
}

export class Reporter implements StatusSink {
  private sending = false;
  private dirty = false;
  private readonly backoff: Backoff;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  sent = 0;

  constructor(
    private readonly client: Pick<ControllerClient, "postJson">,
    private readonly build: () => StatusReport,
    private readonly opts: { timeoutMs: number; backoffMinMs: number; backoffMaxMs: number },
  ) {
    this.backoff = new Backoff({ minMs: opts.backoffMinMs, maxMs: opts.backoffMaxMs });
  }

  report(): void {
    if (this.stopped) return;
    this.dirty = true;
    if (!this.sending && !this.timer) void this.flush();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  private async flush(): Promise<void> {
    this.sending = true;
    while (this.dirty && !this.stopped) {
      this.dirty = false;
      const body = this.build();
      try {
        await this.client.postJson(PATHS.status, body, this.opts.timeoutMs);
        this.sent++;
        this.backoff.reset();
      } catch (e) {
        this.dirty = true;
        const d = this.backoff.next();
        logger.warn("status report failed, will retry", { error: errorMessage(e), retryInMs: d });
        this.sending = false;
        this.timer = setTimeout(() => {
          this.timer = undefined;
          void this.flush();
        }, d);
        return;
      }
    }
    this.sending = false;
  }
}
