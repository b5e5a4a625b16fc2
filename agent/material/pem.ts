// Validation of PEM material before anything touches the disk. Every failure is a
// PemError whose message names the item ("trust bundle", "certificate from
// controller", …), the block number and what is wrong, so a refused intent is
// diagnosable from one log line. The scanning is common/pem.ts's, under
// CONTROLLER_MATERIAL_POLICY (text outside blocks refused); the expiry rule is its isExpired.
import { createPrivateKey, createPublicKey } from "node:crypto";
import { checkDerLength, CONTROLLER_MATERIAL_POLICY, decodePemBlock, isExpired, scanPem, type PemBlock } from "../../common/pem.ts";
import { MAX_BODY_BYTES } from "../../protocol/intent.ts";
import { readCertificate, type Certificate } from "./certificate.ts";
import { PemError } from "../errors.ts";

export { PemError };

/** Upper bound on certificates in one bundle; far above any real trust bundle. */
const MAX_BUNDLE_CERTS = 1000;

interface Block {
  type: string;
  der: Uint8Array<ArrayBuffer>;
  hasHeaders: boolean;
  /** The block's own text (BEGIN to END). */
  text: string;
}

/** The PEM blocks of `text`, found but not decoded yet. */
function scanBlocks(text: string, what: string): PemBlock[] {
  const bytes = new TextEncoder().encode(text).length;
  if (bytes > MAX_BODY_BYTES) throw new PemError(`${what}: ${bytes} bytes exceeds the limit of ${MAX_BODY_BYTES}`);
  if (text.trim() === "") throw new PemError(`${what}: empty`);
  // Text outside PEM blocks is tolerated by Elasticsearch but never produced by us or
  // by tools; refusing it catches truncated or concatenated-garbage payloads early.
  const scan = scanPem(text, CONTROLLER_MATERIAL_POLICY);
  const problem = scan.problems[0];
  if (problem?.code === "StrayText") {
    throw new PemError(`${what}: unexpected text outside PEM blocks at line ${problem.line}: ${JSON.stringify(problem.text!.slice(0, 40))}`);
  }
  if (problem) throw new PemError(`${what}, block ${problem.index}: not valid PEM: ${problem.reason}`);
  if (scan.blocks.length === 0) throw new PemError(`${what}: no PEM blocks found`);
  return scan.blocks;
}

function decodeBlock(b: PemBlock, what: string): Block {
  const decoded = decodePemBlock(b);
  if (!decoded.ok) throw new PemError(`${what}, block ${b.index}: not valid PEM: ${decoded.reason}`);
  return { type: b.label, der: decoded.der, hasHeaders: decoded.headers.length > 0, text: b.text };
}

function blocks(text: string, what: string): Block[] {
  return scanBlocks(text, what).map((b) => decodeBlock(b, what));
}

function checkCount(n: number, what: string): void {
  if (n > MAX_BUNDLE_CERTS) throw new PemError(`${what}: ${n} blocks exceeds the limit of ${MAX_BUNDLE_CERTS}`);
}

/** `now` undefined: expiry is left to the caller (a bundle keeps its valid rest, issue 8). */
function parseCertificates(text: string, what: string, now: Date | undefined): Certificate[] {
  const bs = blocks(text, what);
  checkCount(bs.length, what);
  return bs.map((b, i) => checkedCertificate(b, `${what}, block ${i + 1}`, now));
}

function checkedCertificate(b: Block, where: string, now: Date | undefined): Certificate {
  if (b.type !== "CERTIFICATE") {
    const hint = b.type.includes("PRIVATE KEY") ? " (a private key must never be placed here)" : "";
    throw new PemError(`${where}: is a "${b.type}" block, only CERTIFICATE is allowed${hint}`);
  }
  if (b.hasHeaders) throw new PemError(`${where}: PEM headers are not allowed`);
  const length = checkDerLength(b.der, b.type);
  if (!length.ok) throw new PemError(`${where}: not a parseable X.509 certificate: ${length.reason}`);
  let cert: Certificate;
  try {
    cert = readCertificate(b.der);
  } catch (e) {
    throw new PemError(`${where}: not a parseable X.509 certificate: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (now && isExpired(cert.notAfter, now)) {
    throw new PemError(`${where}: certificate "${cert.subject}" expired at ${cert.notAfter.toISOString()}`);
  }
  return cert;
}

/** What a trust bundle needs of each of its certificates. */
interface BundleEntry {
  subject: string;
  notAfter: Date;
}

/**
 * The entries of the last bundle validated, by block text. An intent's bundle mostly repeats the
 * previous one's certificates, and parsing them all again was most of an agent's work per bundle
 * change (issue 21: 100 agents re-parsing on 2 cores). Holds one bundle's blocks at most; a block's
 * text is its whole content, so the same text passes the same checks.
 */
export class BundleMemo {
  private entries = new Map<string, BundleEntry>();

  get(blockText: string): BundleEntry | undefined {
    return this.entries.get(blockText);
  }

  /** Replaces what is kept by one validated bundle's blocks. */
  keep(entries: Map<string, BundleEntry>): void {
    this.entries = entries;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Each block's entry: from `memo` when the same block was validated last time, else checked and parsed. */
function bundleEntries(text: string, what: string, memo: BundleMemo | undefined): { entry: BundleEntry; text: string }[] {
  const scanned = scanBlocks(text, what);
  const known = scanned.map((b) => memo?.get(b.text));
  const decoded = scanned.map((b, i) => (known[i] ? undefined : decodeBlock(b, what)));
  checkCount(scanned.length, what);
  const out = scanned.map((b, i) => {
    if (known[i]) return { entry: known[i], text: b.text };
    const { subject, notAfter } = checkedCertificate(decoded[i]!, `${what}, block ${i + 1}`, undefined);
    return { entry: { subject, notAfter }, text: b.text };
  });
  memo?.keep(new Map(out.map((o) => [o.text, o.entry])));
  return out;
}

/** A trust bundle: CERTIFICATE blocks only, each parseable and unexpired, at least one. */
export function validateBundle(text: string, what = "trust bundle", now = new Date()): Certificate[] {
  return parseCertificates(text, what, now);
}

interface DroppedEntry {
  block: number;
  subject: string;
  notAfter: Date;
}

/**
 * A trust bundle whose expired entries are left out: another user's certificate expiring must
 * not stop this pod taking its intent (issue 8). Malformed content is still refused whole; so is a
 * bundle with nothing valid left, since an empty bundle would lock every client out. `memo`: the
 * blocks of the last bundle validated with it are not parsed again.
 */
export function validBundlePart(text: string, what = "trust bundle", now = new Date(), memo?: BundleMemo): { pem: string; certs: BundleEntry[]; dropped: DroppedEntry[] } {
  const all = bundleEntries(text, what, memo);
  const dropped: DroppedEntry[] = [];
  const kept = all.filter(({ entry: c }, i) => {
    const valid = !isExpired(c.notAfter, now);
    if (!valid) dropped.push({ block: i + 1, subject: c.subject, notAfter: c.notAfter });
    return valid;
  });
  const certs = kept.map((k) => k.entry);
  if (!certs.length) {
    const last = dropped.map((d) => d.notAfter.getTime()).reduce((a, b) => Math.max(a, b));
    throw new PemError(`${what}: all ${dropped.length} certificate(s) have expired (the last at ${new Date(last).toISOString()}); an empty bundle is never written`);
  }
  if (!dropped.length) return { pem: text, certs, dropped };
  // The kept blocks' own text, in order: scanBlocks() already refused anything outside them.
  const pem = kept.map((k) => k.text).join("\n") + "\n";
  return { pem, certs, dropped };
}

/** A leaf certificate, optionally followed by its chain; the leaf comes first. */
export function validateCertificate(text: string, what = "certificate", now = new Date()): Certificate {
  const certs = parseCertificates(text, what, now);
  const leaf = certs[0]!;
  if (leaf.notBefore.getTime() > now.getTime() + 5 * 60_000) {
    throw new PemError(`${what}: certificate "${leaf.subject}" is not valid before ${leaf.notBefore.toISOString()}`);
  }
  return leaf;
}

/**
 * Checks that `keyPem` is one private key and that it belongs to `leaf`, by comparing
 * the public key derived from the private key with the certificate's SPKI. node:crypto
 * reads PKCS#8, SEC1 and PKCS#1, which user-provided secrets may use.
 */
export function validateKeyPair(leaf: Certificate, keyPem: string, what = "key"): void {
  const bs = blocks(keyPem, what);
  if (bs.length !== 1) throw new PemError(`${what}: expected exactly one PEM block, found ${bs.length}`);
  const b = bs[0]!;
  if (!/^(|RSA |EC )PRIVATE KEY$/.test(b.type)) throw new PemError(`${what}: is a "${b.type}" block, expected PRIVATE KEY`);
  let spki: Buffer;
  try {
    spki = createPublicKey(createPrivateKey(keyPem)).export({ type: "spki", format: "der" });
  } catch (e) {
    throw new PemError(`${what}: not a usable private key: ${e instanceof Error ? e.message.split("\n")[0] : String(e)}`);
  }
  const certSpki = leaf.publicKey().export({ type: "spki", format: "der" });
  if (!certSpki.equals(spki)) {
    throw new PemError(`${what}: does not match the public key of certificate "${leaf.subject}"`);
  }
}
