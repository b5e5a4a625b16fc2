// A user's Secret as the trust bundle reads it: common/pem.ts's scanner under USER_SECRET_POLICY,
// which reports what is not a well-formed block (a BEGIN without END, mismatched labels) apart
// from text outside any block. A trust bundle must say what it left out and where. Text outside
// blocks (comments, `openssl x509 -text` output) leaves no certificate out, and Elasticsearch
// ignores it too, so it is kept apart: it is no rejection.
import { sha256Hex } from "../../common/digest.ts";
import { scanPem, USER_SECRET_POLICY, type PemBlock } from "../../common/pem.ts";

type PemBlockText = PemBlock;

interface PemScanProblem {
  index: number | null;
  line: number;
  reason: string;
}

/** A run of non-blank lines outside any block. */
interface PemStrayText {
  /** 1-based first line of the run. */
  line: number;
  reason: string;
}

export function scanPemBlocks(input: string): { blocks: PemBlockText[]; problems: PemScanProblem[]; strayText: PemStrayText[] } {
  const { blocks, problems, strayText } = scanPem(input, USER_SECRET_POLICY);
  return {
    blocks,
    problems: problems.map(({ index, line, reason }) => ({ index, line, reason })),
    strayText: strayText.map(({ line, reason }) => ({ line, reason })),
  };
}

// ---------------------------------------------------------------------------------------------
// Scanned sources cached by content. A reconcile rebuilds a cluster's bundle from all its
// sources, and almost all of them are unchanged since the last build: the cache keeps, per
// SHA-256 of a source's text, its scan and each block's parse (done on first use), so each
// certificate is parsed once per content. Only what depends on the text alone may be kept
// here; validity in time is checked by the caller on every build.

export interface ScannedSource<P> {
  /** The cache's key: SHA-256 of the text. */
  readonly key: string;
  /** The text's length (the text itself is not kept: its blocks are). */
  readonly length: number;
  blocks: readonly PemBlockText[];
  problems: readonly PemScanProblem[];
  strayText: readonly PemStrayText[];
  /** Parsed blocks by block index (filled on first use). */
  readonly parsed: Map<number, P>;
  /** Approximate bytes held, for the cache's bound. */
  readonly bytes: number;
}

interface ParseCacheStats {
  entries: number;
  bytes: number;
  hits: number;
  misses: number;
  /** Calls of the block parser since the last clear(): what a warm build avoids. */
  blockParses: number;
  evictions: number;
}

interface ParseCacheLimits {
  /** Sources kept; the least recently used goes first. */
  maxEntries: number;
  /** Approximate memory kept (source text counted twice: the text and what is parsed of it). */
  maxBytes: number;
}

/** 1,000 clusters × 10 Secrets plus their CAs fit; 64 KiB sources are bounded by bytes. */
const DEFAULT_PARSE_CACHE_LIMITS: ParseCacheLimits = { maxEntries: 16_384, maxBytes: 48 * 1024 * 1024 };

export class ParseCache<P> {
  private readonly entries = new Map<string, ScannedSource<P>>();
  private limits: ParseCacheLimits;
  private counters = { bytes: 0, hits: 0, misses: 0, blockParses: 0, evictions: 0 };

  constructor(
    private readonly parseBlock: (label: string, text: string) => P,
    limits: Partial<ParseCacheLimits> = {},
    private readonly hash: (text: string) => string = sha256Hex,
  ) {
    this.limits = { ...DEFAULT_PARSE_CACHE_LIMITS, ...limits };
  }

  /** The scan of `text`, from the cache when the same content was seen before. */
  get(text: string): ScannedSource<P> {
    const key = this.hash(text);
    const hit = this.entries.get(key);
    if (hit) {
      this.counters.hits++;
      // Map keeps insertion order: re-inserting makes it the most recently used.
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    this.counters.misses++;
    const { blocks, problems, strayText } = scanPemBlocks(text);
    const entry: ScannedSource<P> = { key, length: text.length, blocks, problems, strayText, parsed: new Map(), bytes: 2 * text.length + 256 };
    this.entries.set(key, entry);
    this.counters.bytes += entry.bytes;
    this.evict();
    return entry;
  }

  /** Whether `source` is still this cache's entry for its text (not evicted, forgotten or cleared). */
  holds(source: ScannedSource<P>): boolean {
    return this.entries.get(source.key) === source;
  }

  /**
   * `source` (a scan kept by whoever holds it, kube/secret-reader.ts: the text is not kept twice)
   * as a use of the cache: most recently used, and back in the cache if it was let go meanwhile.
   */
  use(source: ScannedSource<P>): ScannedSource<P> {
    const hit = this.entries.get(source.key);
    if (hit) {
      this.counters.hits++;
      this.entries.delete(source.key);
      this.entries.set(source.key, hit);
      return hit;
    }
    this.entries.set(source.key, source);
    this.counters.bytes += source.bytes;
    this.evict();
    return source;
  }

  /** Drops `source` if it is still the entry of its text (as forget(text)). */
  drop(source: ScannedSource<P>): void {
    if (!this.holds(source)) return;
    this.counters.bytes -= source.bytes;
    this.entries.delete(source.key);
  }

  /** The parse of one block of a scanned source, done once per content. */
  block(source: ScannedSource<P>, block: PemBlockText): P {
    let parsed = source.parsed.get(block.index);
    if (parsed === undefined) {
      this.counters.blockParses++;
      parsed = this.parseBlock(block.label, block.text);
      source.parsed.set(block.index, parsed);
    }
    return parsed;
  }

  /**
   * Drops the entry of `text` (a source that is gone: issue 21, after 5,000 labelled Secrets came
   * and went their parses stayed, well under the LRU's bounds). Another source with the same text is
   * parsed again on its next build: a cost, never a different result.
   */
  forget(text: string): void {
    const key = this.hash(text);
    const entry = this.entries.get(key);
    if (!entry) return;
    this.counters.bytes -= entry.bytes;
    this.entries.delete(key);
  }

  stats(): ParseCacheStats {
    return { entries: this.entries.size, ...this.counters };
  }

  clear(): void {
    this.entries.clear();
    this.counters = { bytes: 0, hits: 0, misses: 0, blockParses: 0, evictions: 0 };
  }

  setLimits(limits: Partial<ParseCacheLimits>): void {
    this.limits = { ...this.limits, ...limits };
    this.evict();
  }

  private evict() {
    while (this.entries.size > this.limits.maxEntries || (this.counters.bytes > this.limits.maxBytes && this.entries.size > 1)) {
      const oldest = this.entries.keys().next().value as string;
      this.counters.bytes -= this.entries.get(oldest)!.bytes;
      this.entries.delete(oldest);
      this.counters.evictions++;
    }
  }
}
