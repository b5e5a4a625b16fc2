// The one PEM scanner of the controller and the agent: block framing line by line, the base64
// body (with RFC 1421 headers), the DER outer length, and the one expiry rule. It returns data;
// each side maps it to its own vocabulary (the controller's rejection codes per block in
// controller/trust/, the agent's PemError in agent/material/pem.ts). Web-standard only, and no
// @peculiar/x509: a caller that needs the certificate's fields parses the DER itself.
//
// Where the two sides differ, they do on purpose, and by a named policy:
// - USER_SECRET_POLICY, for what a user put in a Secret: text outside any block (a comment,
//   `openssl x509 -text` output) leaves no certificate out and Elasticsearch ignores it, so it is
//   reported apart (`strayText`) and is no problem.
// - CONTROLLER_MATERIAL_POLICY, for what the controller sends an agent: neither the controller nor
//   any tool produces stray text, so any is a problem (a truncated or concatenated payload).

/** One BEGIN…END block as framed; its body is not decoded yet (decodePemBlock). */
export interface PemBlock {
  /** 1-based position of the block within its input (blocks with framing problems count too). */
  index: number;
  /** 1-based line of the BEGIN line. */
  line: number;
  label: string;
  /** The block from BEGIN to END line inclusive, lines trimmed, joined with \n. */
  text: string;
}

type PemProblemCode =
  /** A BEGIN with no END (at the end of the input, or before the next BEGIN). */
  | "Truncated"
  /** An END whose label is not the BEGIN's. */
  | "LabelMismatch"
  /** Text outside any block, under a policy that refuses it. */
  | "StrayText";

/** What keeps part of the input from being a block. */
interface PemProblem {
  code: PemProblemCode;
  /** The block concerned; null for stray text. */
  index: number | null;
  /** 1-based line: the block's BEGIN line, or the first line of the stray text. */
  line: number;
  reason: string;
  /** StrayText only: the run's lines, trimmed, joined with \n. */
  text?: string;
}

/** A run of non-blank lines outside any block. */
interface PemStrayText {
  /** 1-based first and last line of the run. */
  line: number;
  lastLine: number;
  /** The run's lines, trimmed, joined with \n. */
  text: string;
  reason: string;
}

interface PemPolicy {
  name: string;
  /** "report": stray text goes to `strayText` and is no problem; "refuse": it is a StrayText problem. */
  strayText: "report" | "refuse";
}

/** A user's Secret: stray text is tolerated and reported. */
export const USER_SECRET_POLICY: PemPolicy = { name: "user Secret", strayText: "report" };
/** What the controller sends an agent: stray text is refused. */
export const CONTROLLER_MATERIAL_POLICY: PemPolicy = { name: "controller material", strayText: "refuse" };

interface PemScan {
  blocks: PemBlock[];
  /** In input order. */
  problems: PemProblem[];
  /** Under a "report" policy only; empty under "refuse" (the runs are problems there). */
  strayText: PemStrayText[];
}

const BEGIN = /^-----BEGIN ([^-]*)-----$/;
const END = /^-----END ([^-]*)-----$/;
/** An END line directly followed by the next BEGIN: files concatenated without their last newline (`cat a.pem b.pem`). */
const JOINED = /(?<=-----END [^-]*-----)(?=-----BEGIN )/;

// A regex capture is a slice of its input on JSC, so a block's label would keep the whole scanned
// text alive for as long as the block is (the controller caches scans per source: issue 21, 530 B
// per certificate). Labels are returned as strings of their own.
const COMMON_LABELS = new Map(["CERTIFICATE", "PRIVATE KEY", "EC PRIVATE KEY", "RSA PRIVATE KEY", "CERTIFICATE REQUEST"].map((l) => [l, l]));
function ownLabel(label: string): string {
  return COMMON_LABELS.get(label) ?? Array.from(label).join("");
}

/**
 * Frames `input` into blocks, line by line (lines trimmed, \r\n or \n); an END and the next BEGIN
 * on one line count as two lines. Never throws.
 */
export function scanPem(input: string, policy: PemPolicy): PemScan {
  const blocks: PemBlock[] = [];
  const problems: PemProblem[] = [];
  const strayText: PemStrayText[] = [];
  const lines = input.split(/\r?\n/);
  let open: { index: number; line: number; label: string; body: string[] } | undefined;
  let stray: { from: number; lines: string[] } | undefined;
  let count = 0;

  const flushStray = (lineNo: number) => {
    if (stray === undefined) return;
    const run: PemStrayText = { line: stray.from, lastLine: lineNo - 1, text: stray.lines.join("\n"), reason: `non-PEM text outside any block (lines ${stray.from}-${lineNo - 1})` };
    if (policy.strayText === "report") strayText.push(run);
    else problems.push({ code: "StrayText", index: null, line: run.line, reason: run.reason, text: run.text });
    stray = undefined;
  };

  const segments = lines.flatMap((raw, i) => raw.trim().split(JOINED).map((line) => ({ line, lineNo: i + 1 })));
  segments.forEach(({ line, lineNo }) => {
    const begin = BEGIN.exec(line);
    if (open) {
      const end = END.exec(line);
      if (end) {
        if (end[1] !== open.label) {
          problems.push({ code: "LabelMismatch", index: open.index, line: open.line, reason: `block "${open.label}" ends with END "${end[1]}"` });
        } else {
          blocks.push({ index: open.index, line: open.line, label: open.label, text: [`-----BEGIN ${open.label}-----`, ...open.body, line].join("\n") });
        }
        open = undefined;
      } else if (begin) {
        problems.push({ code: "Truncated", index: open.index, line: open.line, reason: `block "${open.label}" is truncated: no END line before the next BEGIN at line ${lineNo}` });
        open = { index: ++count, line: lineNo, label: ownLabel(begin[1]!), body: [] };
      } else {
        open.body.push(line);
      }
      return;
    }
    if (begin) {
      flushStray(lineNo);
      open = { index: ++count, line: lineNo, label: ownLabel(begin[1]!), body: [] };
    } else if (line !== "") {
      stray ??= { from: lineNo, lines: [] };
      stray.lines.push(line);
    } else {
      flushStray(lineNo);
    }
  });
  flushStray(lines.length + 1);
  if (open) problems.push({ code: "Truncated", index: open.index, line: open.line, reason: `block "${open.label}" is truncated: no END line` });
  problems.sort((a, b) => a.line - b.line);
  return { blocks, problems, strayText };
}

/** An RFC 1421 header line ("Proc-Type: 4,ENCRYPTED") before the base64 body. */
interface PemHeader {
  key: string;
  value: string;
}

type PemDecodeCode = "Empty" | "BadBase64";

type PemDecoded = { ok: true; der: Uint8Array<ArrayBuffer>; headers: PemHeader[] } | { ok: false; code: PemDecodeCode; reason: string };

const BASE64_LINE = /^[A-Za-z0-9+/=]+$/;
/** Whole quanta, padding at the end only. */
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * The bytes of one block: optional header lines ("key: value"), one optional blank line, then
 * base64 lines. Headers are returned, not judged: whether they are allowed is the caller's rule.
 */
export function decodePemBlock(block: Pick<PemBlock, "label" | "text">): PemDecoded {
  const body = block.text.split("\n").slice(1, -1);
  if (body.every((line) => line === "")) return { ok: false, code: "Empty", reason: `${block.label} block is empty` };
  const headers: PemHeader[] = [];
  let i = 0;
  for (; i < body.length && body[i]!.includes(":"); i++) {
    const at = body[i]!.indexOf(":");
    headers.push({ key: body[i]!.slice(0, at), value: body[i]!.slice(at + 1).trim() });
  }
  if (body[i] === "") i++;
  const base64 = body.slice(i);
  if (base64.length === 0) return { ok: false, code: "Empty", reason: `${block.label} block is empty` };
  const joined = base64.join("");
  if (!base64.every((line) => BASE64_LINE.test(line)) || !BASE64.test(joined)) {
    return { ok: false, code: "BadBase64", reason: `${block.label} block body is not valid base64` };
  }
  const binary = atob(joined);
  const der = new Uint8Array(binary.length);
  for (let j = 0; j < binary.length; j++) der[j] = binary.charCodeAt(j);
  return { ok: true, der, headers };
}

/** Total length of the outer DER SEQUENCE (header + content), or undefined if `bytes` does not start with one. */
function derLength(bytes: Uint8Array): number | undefined {
  if (bytes.length < 2 || bytes[0] !== 0x30) return undefined;
  const first = bytes[1]!;
  if (first < 0x80) return 2 + first;
  const octets = first & 0x7f;
  if (octets === 0 || octets > 4 || bytes.length < 2 + octets) return undefined;
  let length = 0;
  for (let i = 0; i < octets; i++) length = length * 256 + bytes[2 + i]!;
  return 2 + octets + length;
}

type DerCheckCode = "NotDerSequence" | "DerLengthMismatch";

/**
 * The block holds exactly one DER SEQUENCE: a body cut short or followed by more bytes is caught
 * here, where a lenient parser would read a prefix. `label` names the block in the reason.
 */
export function checkDerLength(der: Uint8Array, label: string): { ok: true } | { ok: false; code: DerCheckCode; reason: string } {
  const expected = derLength(der);
  if (expected === undefined) return { ok: false, code: "NotDerSequence", reason: `${label} block does not hold a DER SEQUENCE` };
  if (expected !== der.byteLength) {
    return { ok: false, code: "DerLengthMismatch", reason: `${label} block holds ${der.byteLength} bytes but its DER says ${expected}: truncated or trailing data` };
  }
  return { ok: true };
}

/** `der` as a PEM block: 64-character base64 lines, no trailing newline. */
export function encodePem(der: Uint8Array | ArrayBuffer, label: string): string {
  const bytes = der instanceof Uint8Array ? der : new Uint8Array(der);
  let binary = "";
  // apply, not spread: spreading a typed array is ~7x slower on Bun (issue 21: a leaf per issuance).
  for (let i = 0; i < bytes.length; i += 0x2000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x2000) as unknown as number[]);
  const base64 = btoa(binary);
  const lines = [`-----BEGIN ${label}-----`];
  for (let i = 0; i < base64.length; i += 64) lines.push(base64.slice(i, i + 64));
  lines.push(`-----END ${label}-----`);
  return lines.join("\n");
}

/**
 * The one expiry rule of both sides: a certificate is valid while now < notAfter, so it has
 * expired from the instant now reaches notAfter (now == notAfter is expired).
 */
export function isExpired(notAfter: Date, now: Date): boolean {
  return now.getTime() >= notAfter.getTime();
}
