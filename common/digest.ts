// SHA-256 hex digest. node:crypto's createHash is synchronous and behaves the same on
// Node, Bun and Deno, so both sides share it (WebCrypto's digest is async only).
import { createHash } from "node:crypto";

export function sha256Hex(data: string | Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}
