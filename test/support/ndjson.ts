// Reads an NDJSON stream (the intent API's) line by line from a fetch Response.
import type { Intent } from "../../protocol/intent.ts";

/**
 * Reads NDJSON lines from a streaming response; "closed" when it ends. Each `next()` waits at
 * most `timeoutMs` (the reader's default unless given; Infinity: as long as the test may run).
 */
export function lineReader(response: Response, { timeoutMs: defaultTimeoutMs = 3000 } = {}) {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  return {
    async next(timeoutMs = defaultTimeoutMs): Promise<Record<string, unknown> | "closed"> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const newline = buffer.indexOf("\n");
        if (newline >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          return JSON.parse(line) as Record<string, unknown>;
        }
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error("no line within timeout");
        const chunk = Number.isFinite(remaining) ? await Promise.race([reader.read(), Bun.sleep(remaining).then(() => "timeout" as const)]) : await reader.read();
        if (chunk === "timeout") continue;
        if (chunk.done) return "closed";
        buffer += decoder.decode(chunk.value, { stream: true });
      }
    },
    async nextIntent(timeoutMs = defaultTimeoutMs): Promise<Intent | "closed"> {
      for (;;) {
        const line = await this.next(timeoutMs);
        if (line === "closed" || line.type === "intent") return line as Intent | "closed";
      }
    },
    cancel: () => reader.cancel(),
  };
}
