// Status reports to the controller. Reports coalesce (only the newest state matters)
// and a failed send is retried with backoff; a controller outage never blocks the agent.
import { PATHS, type StatusReport } from "../protocol/intent.ts";
import type { ControllerClient } from "./controller-client.ts";
import { backoffDelay } from "./intent-stream.ts";
import { errorMessage, logger } from "./log.ts";

export class Reporter {
  private sending = false;
  private dirty = false;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  sent = 0;

  constructor(
    private readonly client: ControllerClient,
    private readonly build: () => StatusReport,
    private readonly opts: { timeoutMs: number; backoffMinMs: number; backoffMaxMs: number },
  ) {}

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
        this.attempt = 0;
      } catch (e) {
        this.dirty = true;
        const d = backoffDelay(this.attempt++, this.opts.backoffMinMs, this.opts.backoffMaxMs);
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
