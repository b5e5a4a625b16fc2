// The long-lived NDJSON intent stream. Reconnects forever with the project's capped,
// equal-jitter backoff (common/backoff.ts); resumes with ?after=<last generation seen>; treats a stream silent for
// longer than the heartbeat timeout as dead. A controller outage only delays new
// intents: the agent keeps serving the last applied material meanwhile.
import { Backoff } from "../../common/backoff.ts";
import { MAX_BODY_BYTES, PATHS, type Intent, type StreamLine } from "../../protocol/intent.ts";
import type { ControllerClient } from "../controller-client.ts";
import { ControllerError } from "../errors.ts";
import { errorMessage, logger } from "../log.ts";

interface StreamOptions {
  heartbeatTimeoutMs: number;
  backoffMinMs: number;
  backoffMaxMs: number;
}

export interface StreamHandlers {
  onIntent(intent: Intent): Promise<void> | void;
  /** A line that is not a usable intent; the stream goes on. */
  onBadLine(detail: string): void;
  onConnected(): void;
  onDisconnected(reason: string): void;
}

/** The stream collaborator as the orchestrator sees it (tests pass a fake). */
export interface IntentFeed {
  /** Starts delivering intents to `h` until stop(). */
  start(h: StreamHandlers): void;
  stop(): void;
  /** The newest generation delivered so far (0: none). */
  readonly lastGeneration: number;
}

export class IntentStream implements IntentFeed {
  private stopped = false;
  private abort: AbortController | null = null;
  private wake: (() => void) | null = null;
  private h!: StreamHandlers;
  lastGeneration = 0;

  constructor(private readonly client: Pick<ControllerClient, "request">, private readonly opts: StreamOptions) {}

  start(h: StreamHandlers): void {
    this.h = h;
    void this.run();
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
    this.wake?.();
  }

  private async run(): Promise<void> {
    const backoff = new Backoff({ minMs: this.opts.backoffMinMs, maxMs: this.opts.backoffMaxMs });
    while (!this.stopped) {
      let gotData = false;
      try {
        gotData = await this.once();
        this.h.onDisconnected("stream ended");
      } catch (e) {
        if (this.stopped) break;
        this.h.onDisconnected(errorMessage(e));
      }
      if (this.stopped) break;
      // A connection that delivered anything was healthy: start the backoff over.
      if (gotData) backoff.reset();
      const d = backoff.next();
      logger.debug("intent stream reconnect scheduled", { delayMs: d, attempt: backoff.attempts });
      await new Promise<void>((r) => {
        const t = setTimeout(r, d);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
  }

  /** One connection; returns whether any line arrived (to reset the backoff). */
  private async once(): Promise<boolean> {
    const abort = new AbortController();
    this.abort = abort;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => abort.abort(new ControllerError(`no heartbeat for ${this.opts.heartbeatTimeoutMs} ms`)), this.opts.heartbeatTimeoutMs);
    };
    arm();
    let gotData = false;
    try {
      const q = this.lastGeneration > 0 ? `?after=${this.lastGeneration}` : "";
      const res = await this.client.request(PATHS.intent + q, { signal: abort.signal, headers: { accept: "application/x-ndjson" } });
      if (!res.body) throw new ControllerError("intent stream has no body");
      this.h.onConnected();
      const reader = res.body.getReader();
      const dec = new TextDecoder();
      let buf = "";
      let skipping = false; // inside an oversized line: drop bytes until its newline
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        arm();
        gotData = true;
        buf += dec.decode(value, { stream: true });
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (skipping) {
            skipping = false;
            continue;
          }
          if (line.trim()) await this.line(line);
        }
        if (buf.length > MAX_BODY_BYTES) {
          if (!skipping) this.h.onBadLine(`intent line longer than ${MAX_BODY_BYTES} bytes refused`);
          skipping = true;
          buf = "";
        }
      }
    } finally {
      clearTimeout(timer);
      this.abort = null;
    }
    return gotData;
  }

  private async line(text: string): Promise<void> {
    if (text.length > MAX_BODY_BYTES) {
      this.h.onBadLine(`intent line longer than ${MAX_BODY_BYTES} bytes refused`);
      return;
    }
    let msg: StreamLine;
    try {
      msg = JSON.parse(text) as StreamLine;
    } catch {
      this.h.onBadLine(`intent stream line is not JSON: ${JSON.stringify(text.slice(0, 60))}`);
      return;
    }
    if (msg && msg.type === "heartbeat") return;
    if (!msg || msg.type !== "intent" || typeof msg.generation !== "number") {
      this.h.onBadLine(`intent stream line has unknown type ${JSON.stringify((msg as { type?: unknown })?.type)}`);
      return;
    }
    if (msg.generation <= this.lastGeneration) return; // already seen (resume overlap)
    this.lastGeneration = msg.generation;
    await this.h.onIntent(msg);
  }
}
