// Structured JSON-lines logging. One line per event on stdout so kubectl logs and
// log shippers can parse it. Key material must never reach a log line: any string
// value that looks like a PEM private key is replaced before printing.

export type Level = "debug" | "info" | "warn" | "error";
const ORDER: Record<Level, number> = { debug: 10, info: 20, warn: 30, error: 40 };

let minLevel: Level = "info";
export function setLogLevel(level: Level): void {
  minLevel = level;
}

function scrub(v: unknown): unknown {
  if (typeof v === "string") {
    // Defence in depth: callers never pass keys, but an error message could embed one.
    return /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(v) ? "[redacted: private key material]" : v;
  }
  if (v instanceof Error) return scrub(v.message);
  return v;
}

function log(level: Level, msg: string, fields: Record<string, unknown> = {}): void {
  if (ORDER[level] < ORDER[minLevel]) return;
  const line: Record<string, unknown> = { ts: new Date().toISOString(), level, msg };
  for (const [k, v] of Object.entries(fields)) line[k] = scrub(v);
  console.log(JSON.stringify(line));
}

export const logger = {
  debug: (m: string, f?: Record<string, unknown>) => log("debug", m, f),
  info: (m: string, f?: Record<string, unknown>) => log("info", m, f),
  warn: (m: string, f?: Record<string, unknown>) => log("warn", m, f),
  error: (m: string, f?: Record<string, unknown>) => log("error", m, f),
};

export function errorMessage(e: unknown): string {
  return String(scrub(e instanceof Error ? e.message : String(e)));
}
