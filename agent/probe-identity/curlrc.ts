// The probe folder's files: `curlrc` (and the `.curlrc` link curl looks for) naming one PEM file
// with the probe certificate chain and key, published as one set through the `..data` swap.
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import type { AtomicWriter, WriteResult } from "../write/atomic-writer.ts";

/** curl reads `$CURL_HOME/.curlrc`; the writer only publishes plain names, so this link points at the published `curlrc`. */
const CURLRC_LINK = ".curlrc";
const CURLRC = "curlrc";
const HEADER = "# Written by the es-mtls agent. curl reads this file (CURL_HOME) before its arguments.\n";

interface ProbeFiles {
  /** The certificate file's path as the workload sees it. */
  certPath: string;
  file: string;
  /** Certificate chain then key, PEM. */
  pem: string;
}

/** The .curlrc text: the certificate (with its key in the same file), or nothing to present. */
function curlrcText(files: ProbeFiles | undefined): string {
  if (!files) return HEADER + "# No probe identity: client authentication is not in use for this pod.\n";
  return HEADER + `cert = "${files.certPath}"\n`;
}

/** Publishes the set (no-op when unchanged), then makes sure `.curlrc` points at it. */
export async function publishCurlrc(writer: AtomicWriter, files: ProbeFiles | undefined, mode: number): Promise<WriteResult> {
  const set = [{ name: CURLRC, data: curlrcText(files) }, ...(files ? [{ name: files.file, data: files.pem }] : [])];
  const result = await writer.write(set, { mode });
  await linkCurlrc(writer.dir);
  return result;
}

async function linkCurlrc(dir: string): Promise<void> {
  const link = join(dir, CURLRC_LINK);
  const want = `..data/${CURLRC}`;
  if ((await fsp.readlink(link).catch(() => null)) === want) return;
  const tmp = join(dir, `..${CURLRC_LINK}.tmp`);
  await fsp.rm(tmp, { force: true });
  await fsp.symlink(want, tmp);
  await fsp.rename(tmp, link);
}
