// Protocol-level agents for bench/propagation.ts: N plain HTTPS NDJSON clients of the real
// controller's intent stream, each with its own pod's projected token, as an agent holds it.
// Run as a child process (its own event loop and connection limit):
//   BUN_CONFIG_MAX_HTTP_REQUESTS=4096 bun bench/support/stream-clients.ts <config.json>
// config: { url, ca, tokens: string[] }. Prints one JSON line per event on stdout:
//   {"ev":"open","i":3}                       the stream of client 3 delivered its first intent
//   {"ev":"bundle","i":3,"sha":"…","t":ms}    client 3 received an intent with a new bundle (t: Date.now())
//   {"ev":"error","i":3,"reason":"…"}         a stream failed (it is reopened)
import { readFileSync } from "node:fs";
import type { StreamLine } from "../../protocol/intent.ts";

const config = JSON.parse(readFileSync(process.argv[2]!, "utf8")) as { url: string; ca: string; tokens: string[] };
const emit = (o: Record<string, unknown>) => process.stdout.write(JSON.stringify(o) + "\n");

async function hold(i: number, token: string): Promise<never> {
  let lastSha: string | undefined;
  let opened = false;
  let after = 0;
  for (let attempt = 0; ; attempt++) {
    try {
      const res = await fetch(`${config.url}/v1/intent?after=${after}`, { headers: { authorization: `Bearer ${token}` }, tls: { ca: config.ca } });
      if (!res.ok) throw new Error(`${res.status} ${(await res.text()).slice(0, 200)}`);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value;
        let nl: number;
        while ((nl = buf.indexOf("\n")) >= 0) {
          const line = JSON.parse(buf.slice(0, nl)) as StreamLine;
          buf = buf.slice(nl + 1);
          if (line.type !== "intent") continue;
          const t = Date.now();
          after = line.generation;
          attempt = 0;
          if (!opened) {
            opened = true;
            emit({ ev: "open", i });
          }
          const sha = line.trustBundle?.sha256;
          if (sha && sha !== lastSha) {
            lastSha = sha;
            emit({ ev: "bundle", i, sha, t });
          }
        }
      }
      throw new Error("stream ended");
    } catch (error) {
      // Before the controller has this pod's intent the API answers 403: retry, as an agent does.
      if (opened) emit({ ev: "error", i, reason: (error as Error).message });
      await Bun.sleep(Math.min(2000, 100 * 2 ** Math.min(attempt, 4)) * (0.5 + Math.random() / 2));
    }
  }
}

config.tokens.forEach((token, i) => void hold(i, token));
