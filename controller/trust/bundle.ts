// Builds the client trust bundle: the cluster's client CA certificate(s) plus the pinned
// certificates of trusted client-certificate Secrets. Bad input is left out and reported
// one block at a time, so one broken Secret never removes another's valid certificate.
import type { V1Secret } from "@kubernetes/client-node";
import type { TrustBundle } from "../../protocol/intent.ts";
import { x509 } from "../../common/x509.ts";
import { sha256Hex } from "../../common/digest.ts";
import { checkDerLength, decodePemBlock, encodePem, isExpired } from "../../common/pem.ts";
import { ParseCache, type ScannedSource } from "./pem-blocks.ts";
import { ControllerFailure } from "../errors.ts";
import { formatSize, TRUST_BUNDLE_LIMITS, type BundleLimits } from "./limits.ts";
import { secretKey, sortSecrets } from "./secret-order.ts";

const CLIENT_CERT_KEY = "tls.crt";

/** The enforced limits (defined in limits.ts, quoted in refusal messages and the README). */
export const DEFAULT_BUNDLE_LIMITS: BundleLimits = TRUST_BUNDLE_LIMITS;

interface CaCertificateSource {
  /** e.g. "client CA (current)", "client CA (previous)". */
  label: string;
  pem: string;
}

interface BuildTrustBundleInput {
  /** The cluster's client CA certificate(s), current first; always precede Secret certificates. */
  caCertificates: readonly CaCertificateSource[];
  /** Secrets already selected by sources.ts; their `tls.crt` is read. */
  secrets: readonly V1Secret[];
  /** Keep `secrets` in the given order (the caller puts the cluster's own namespace first); default: namespace/name. */
  presorted?: boolean;
  now?: Date;
  limits?: Partial<BundleLimits>;
}

interface IncludedCertificate {
  source: string;
  block: number;
  /** SHA-256 of the DER, hex. */
  sha256: string;
  subject: string;
  notAfter: string;
  /** Other places the same certificate appeared (deduplicated). */
  duplicates: string[];
}

/** Why input was left out, as a stable word (for aggregation and tests; the reason says it in full). */
type RejectionCode =
  | "SourceUnreadable"
  | "SourceTooLarge"
  | "NoPemBlock"
  | "MalformedBlock"
  | "TooManyBlocks"
  | "InvalidCertificate"
  | "CaInChain"
  | "BundleLimitReached";

interface RejectedInput {
  /** "Secret ns/name tls.crt" or the CA label. */
  source: string;
  code: RejectionCode;
  /** 1-based block within the source; null when the whole source or text between blocks is at fault. */
  block: number | null;
  reason: string;
}

/** Text outside PEM blocks next to usable blocks: nothing was left out, so it is no rejection. */
interface IgnoredText {
  source: string;
  /** 1-based first line of the text. */
  line: number;
  reason: string;
}

export interface TrustBundleResult extends TrustBundle {
  /** pem's parts in order (each certificate's text as the parse cache holds it, then "\n"). */
  pemParts: readonly string[];
  included: IncludedCertificate[];
  /** Input left out of the bundle (a certificate, a block, a whole source), each with its reason. */
  rejected: RejectedInput[];
  /** Informational only: stray text around blocks, which leaves nothing out. */
  ignoredText: IgnoredText[];
}

/**
 * Parsed sources by SHA-256 of their text, shared by every build in this process (bounded LRU;
 * `stats()` counts parses, `clear()` empties it). Exported for tests and benchmarks.
 */
export const trustParseCache = new ParseCache<ParsedBlock>(parseCertificateBlock);

/** No valid certificate among the inputs: a bundle is never empty. `rejected` says why each input was left out. */
export class EmptyTrustBundleError extends ControllerFailure {
  readonly code = "ERR_TRUST_BUNDLE_EMPTY";
  constructor(
    readonly rejected: RejectedInput[],
    message = `trust bundle would be empty: no valid certificate among the inputs (${rejected.length} rejected)`,
  ) {
    super(message);
  }
}

/**
 * A labelled Secret whose tls.crt was over the per-source limit when it was read on demand: its
 * decoded size stands in for its data, so the refusal states the size without the data being kept.
 */
interface OversizeSecret extends V1Secret {
  tlsCrtBytes: number;
}

/** A labelled Secret whose tls.crt the reader keeps as this cache's scan of it (not its text). */
type HeldSecret = V1Secret & { tlsCrtHeld: ScannedSource<ParsedBlock> };

interface Source {
  name: string;
  text?: string;
  held?: ScannedSource<ParsedBlock>; // the reader's kept scan, in place of `text` (HeldSecret)
  /** The decoded size of a source whose text was not kept (OversizeSecret). */
  tooLargeBytes?: number;
  problem?: string;
  /** Secrets pin their leaf; a CA certificate later in their chain would trust all it signs. */
  pinsLeafOnly: boolean;
}

export async function buildTrustBundle(input: BuildTrustBundleInput): Promise<TrustBundleResult> {
  const limits = { ...DEFAULT_BUNDLE_LIMITS, ...input.limits };
  const now = input.now ?? new Date();
  const included: IncludedCertificate[] = [];
  const rejected: RejectedInput[] = [];
  const ignoredText: IgnoredText[] = [];
  const byDigest = new Map<string, IncludedCertificate>();
  const pemParts: string[] = [];
  let bundleBytes = 0;

  for (const source of [...input.caCertificates.map(caSource), ...(input.presorted ? input.secrets : sortSecrets(input.secrets)).map(secretSource)]) {
    if (source.tooLargeBytes !== undefined) {
      rejected.push({ source: source.name, block: null, code: "SourceTooLarge", reason: `source is ${formatSize(source.tooLargeBytes)}, over the ${formatSize(limits.maxSourceBytes)} limit per source` });
      continue;
    }
    const length = source.held?.length ?? source.text?.length;
    if (source.problem !== undefined || length === undefined) {
      rejected.push({ source: source.name, block: null, code: "SourceUnreadable", reason: source.problem ?? "no data" });
      continue;
    }
    if (length > limits.maxSourceBytes) {
      rejected.push({ source: source.name, block: null, code: "SourceTooLarge", reason: `source is ${formatSize(length)}, over the ${formatSize(limits.maxSourceBytes)} limit per source` });
      continue;
    }
    // Parsing depends only on the text, so it is cached by content; validity in time does not,
    // so it is checked below on every build.
    const scanned = source.held ? trustParseCache.use(source.held) : trustParseCache.get(source.text!);
    const { blocks, problems, strayText } = scanned;
    for (const problem of problems) {
      rejected.push({ source: source.name, block: problem.index, code: "MalformedBlock", reason: `${problem.reason} (line ${problem.line})` });
    }
    if (blocks.length === 0 && problems.length === 0) {
      // Only stray text: whatever it was meant to be (base64 without armour, DER, YAML) is left out.
      const what = strayText.map((t) => t.reason).join("; ");
      rejected.push({ source: source.name, block: null, code: "NoPemBlock", reason: what ? `contains no PEM block: ${what}` : "contains no PEM block" });
    } else {
      for (const text of strayText) ignoredText.push({ source: source.name, line: text.line, reason: `${text.reason}, ignored` });
    }
    const accepted: (ParsedCertificate & { block: number })[] = [];
    const leafIndex = blocks.find((block) => block.label === "CERTIFICATE")?.index;
    for (const block of blocks) {
      const reject = (code: RejectionCode, reason: string) => rejected.push({ source: source.name, block: block.index, code, reason: `${reason} (line ${block.line})` });
      if (block.index > limits.maxBlocksPerSource) {
        reject("TooManyBlocks", `block ${block.index} is over the limit of ${limits.maxBlocksPerSource} PEM blocks per source`);
        continue;
      }
      const parsed = trustParseCache.block(scanned, block);
      if ("reason" in parsed) {
        reject("InvalidCertificate", parsed.reason);
        continue;
      }
      const timeProblem = validityProblem(parsed, now);
      if (timeProblem) {
        reject("InvalidCertificate", timeProblem);
        continue;
      }
      // Only the cluster's own CAs are anchors: a CA from a user source, first block included,
      // would let whoever holds its key mint any client certificate the cluster accepts.
      if (source.pinsLeafOnly && parsed.isCa) {
        reject("CaInChain", block.index === leafIndex ? "is a CA certificate (CA:TRUE): a client-certificate Secret contributes leaf certificates only; only the cluster's own CAs are trust anchors" : "CA certificate in the chain after the leaf is not pinned: trusting it would trust every certificate it signs");
        continue;
      }
      accepted.push({ ...parsed, block: block.index });
    }
    const freshDigests = new Set(accepted.map((cert) => cert.digest).filter((digest) => !byDigest.has(digest)));
    const fresh = accepted.filter((cert) => freshDigests.delete(cert.digest));
    const pems = fresh.map((cert) => cert.pem);
    // Each certificate is written followed by a newline.
    const sourceBytes = pems.reduce((sum, pem) => sum + pem.length + 1, 0);
    if (bundleBytes + sourceBytes > limits.maxBundleBytes) {
      // Whole sources are left out, in sorted order, so the cut is stable between runs.
      rejected.push({
        source: source.name,
        block: null,
        code: "BundleLimitReached",
        reason: `bundle limit reached: adding its ${fresh.length} certificate(s) (${formatSize(sourceBytes)}) would make the bundle ${formatSize(bundleBytes + sourceBytes)}, over the ${formatSize(limits.maxBundleBytes)} bundle limit`,
      });
      continue;
    }
    for (const cert of accepted) {
      const seen = byDigest.get(cert.digest);
      if (seen) {
        seen.duplicates.push(`${source.name} block ${cert.block}`);
        continue;
      }
      const entry: IncludedCertificate = {
        source: source.name,
        block: cert.block,
        sha256: cert.digest,
        subject: cert.subject,
        notAfter: cert.notAfter.toISOString(),
        duplicates: [],
      };
      byDigest.set(cert.digest, entry);
      included.push(entry);
    }
    for (const pem of pems) pemParts.push(pem, "\n");
    bundleBytes += sourceBytes;
  }

  if (included.length === 0) throw new EmptyTrustBundleError(rejected);
  const pem = pemParts.join("");
  return { pem, sha256: sha256Hex(pem), pemParts, included, rejected, ignoredText };
}

/** What the bundle needs of a certificate, kept instead of the parsed object (a few hundred bytes). */
interface ParsedCertificate {
  /**
   * Re-encoded PEM of the DER, as written into the bundle (followed by a newline). The block's own
   * text when they are equal (the usual case), so the parse cache keeps one copy of it, not two
   * (issue 21: 528 B per certificate, 11 certificates per cluster).
   */
  pem: string;
  /** SHA-256 of the DER, hex. */
  digest: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  isCa: boolean;
}

type ParsedBlock = ParsedCertificate | { reason: string };

function validityProblem(cert: ParsedCertificate, now: Date): string | undefined {
  if (now < cert.notBefore) return `certificate "${cert.subject}" is not valid before ${cert.notBefore.toISOString()}`;
  if (isExpired(cert.notAfter, now)) return `certificate "${cert.subject}" expired at ${cert.notAfter.toISOString()}`;
  return undefined;
}

function parseCertificateBlock(label: string, text: string): ParsedBlock {
  if (/PRIVATE KEY/.test(label)) return { reason: `"${label}" block: private key material never goes into a trust bundle` };
  if (label !== "CERTIFICATE") return { reason: `"${label}" block: only CERTIFICATE blocks are accepted` };
  const decoded = decodePemBlock({ label, text });
  if (!decoded.ok) return { reason: decoded.reason };
  const { der, headers } = decoded;
  if (headers.length > 0) return { reason: `CERTIFICATE block has PEM headers (${headers.map((h) => h.key).join(", ")}); none are allowed` };
  const length = checkDerLength(der, label);
  if (!length.ok) return { reason: length.reason };
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(der);
  } catch (error) {
    return { reason: `not a parseable X.509 certificate: ${(error as Error).message}` };
  }
  const reencoded = encodePem(der, "CERTIFICATE");
  return {
    pem: reencoded === text ? text : reencoded,
    digest: sha256Hex(der),
    subject: certificate.subject,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    isCa: isCa(certificate),
  };
}

function isCa(certificate: x509.X509Certificate): boolean {
  return certificate.getExtension(x509.BasicConstraintsExtension)?.ca === true;
}

function caSource(ca: CaCertificateSource): Source {
  return { name: ca.label, text: ca.pem, pinsLeafOnly: false };
}

function secretSource(secret: V1Secret): Source {
  const name = `Secret ${secretKey(secret)} ${CLIENT_CERT_KEY}`;
  if ("tlsCrtBytes" in secret) return { name, tooLargeBytes: (secret as OversizeSecret).tlsCrtBytes, pinsLeafOnly: true };
  if ("tlsCrtHeld" in secret) return { name, held: (secret as HeldSecret).tlsCrtHeld, pinsLeafOnly: true };
  const encoded = secret.data?.[CLIENT_CERT_KEY];
  if (encoded === undefined) return { name, problem: `no ${CLIENT_CERT_KEY} key in the Secret`, pinsLeafOnly: true };
  try {
    return { name, text: atob(encoded), pinsLeafOnly: true };
  } catch {
    return { name, problem: `${CLIENT_CERT_KEY} is not valid base64`, pinsLeafOnly: true };
  }
}
