// The writer collaborator: the directory the agent owns, read back at start and
// published atomically. The orchestrator talks to the MaterialStore contract; DiskStore
// is the real one (AtomicWriter underneath), tests pass a fake.
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "../../common/digest.ts";
import type { FileLayout } from "../../protocol/intent.ts";
import { WriteError } from "../errors.ts";
import { errorMessage, logger } from "../log.ts";
import { earliestNotAfter, type Material } from "../material/material.ts";
import { validBundlePart, validateCertificate, validateKeyPair } from "../material/pem.ts";
import { AtomicWriter, type FileSpec, type WriteOptions, type WriteResult } from "./atomic-writer.ts";

export type { FileSpec, WriteOptions, WriteResult };

export interface MaterialStore {
  /** The adopted directory, or undefined before the first open(). */
  readonly dir: string | undefined;
  /** Adopts `dir`, repairing what an interrupted write left; true when a complete set is already published. */
  open(dir: string): Promise<boolean>;
  /** Reads back what is published under `files` names; an unusable item is left out with a warning. */
  load(files: FileLayout): Promise<Material>;
  /** Publishes `files` as the complete new set. Failures are WriteErrors. */
  write(files: FileSpec[], opts: WriteOptions): Promise<WriteResult>;
}

export class DiskStore implements MaterialStore {
  private writer: AtomicWriter | undefined;

  get dir(): string | undefined {
    return this.writer?.dir;
  }

  async open(dir: string): Promise<boolean> {
    const w = new AtomicWriter(dir);
    const { removed } = await w.recover();
    if (removed.length) logger.warn("recovered from an interrupted write", { dir, removed });
    this.writer = w;
    const names = w.publishedNames();
    if (names.length) logger.info("found published material", { dir, files: names });
    // What is there is complete: recover() guarantees it.
    return names.length > 0;
  }

  async load(files: FileLayout): Promise<Material> {
    const w = this.opened();
    const m: Material = {};
    const bundle = await w.read(files.bundle);
    if (bundle) {
      try {
        // An entry that expired since it was written is dropped on the next apply, not a reason to forget the file.
        const { certs } = validBundlePart(bundle, "trust bundle on disk");
        m.bundle = { pem: bundle, sha256: sha256Hex(bundle), earliestNotAfter: earliestNotAfter(certs) };
      } catch (e) {
        logger.warn("ignoring trust bundle on disk", { error: errorMessage(e) });
      }
    }
    const cert = await w.read(files.certificate);
    const key = await w.read(files.key);
    if (cert && key) {
      try {
        const leaf = validateCertificate(cert, "certificate on disk", new Date(0));
        validateKeyPair(leaf, key, "key on disk");
        const st = await fsp.stat(join(w.dir, files.certificate));
        m.identity = { certPem: cert, keyPem: key, leaf, sha256: sha256Hex(cert), writtenAt: st.mtimeMs };
      } catch (e) {
        logger.warn("ignoring identity on disk", { error: errorMessage(e) });
      }
    }
    return m;
  }

  async write(files: FileSpec[], opts: WriteOptions): Promise<WriteResult> {
    const w = this.opened();
    try {
      return await w.write(files, opts);
    } catch (e) {
      throw new WriteError(`writing ${w.dir}: ${errorMessage(e)}`, { cause: e });
    }
  }

  private opened(): AtomicWriter {
    if (!this.writer) throw new WriteError("no output directory adopted yet");
    return this.writer;
  }
}
