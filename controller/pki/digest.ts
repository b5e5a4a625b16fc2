// Deprecated shim: the async, BufferSource-taking spelling trust/bundle.ts still calls, over the
// one sync implementation in common/digest.ts. Delete once trust/ imports common/digest.ts itself.
import { sha256Hex as sha256HexSync } from "../../common/digest.ts";

export async function sha256Hex(data: string | BufferSource): Promise<string> {
  if (typeof data === "string") return sha256HexSync(data);
  return sha256HexSync(ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data));
}
