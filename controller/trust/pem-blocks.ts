// Splits PEM text into its blocks line by line and reports what is not a well-formed block
// (a BEGIN without END, mismatched labels) apart from text outside any block. The
// library's decoder silently skips such input, and a trust bundle must say what it left
// out and where. Text outside blocks (comments, `openssl x509 -text` output) leaves no
// certificate out, and Elasticsearch ignores it too, so it is kept apart: it is no rejection.

export interface PemBlockText {
  /** 1-based position of the block within its source. */
  index: number;
  /** 1-based line of the BEGIN line. */
  line: number;
  label: string;
  /** The block from BEGIN to END line inclusive, normalised to \n line endings. */
  text: string;
}

export interface PemScanProblem {
  index: number | null;
  line: number;
  reason: string;
}

/** A run of non-blank lines outside any block. */
export interface PemStrayText {
  /** 1-based first line of the run. */
  line: number;
  reason: string;
}

const BEGIN = /^-----BEGIN ([^-]*)-----$/;
const END = /^-----END ([^-]*)-----$/;

export function scanPemBlocks(input: string): { blocks: PemBlockText[]; problems: PemScanProblem[]; strayText: PemStrayText[] } {
  const blocks: PemBlockText[] = [];
  const problems: PemScanProblem[] = [];
  const strayText: PemStrayText[] = [];
  const lines = input.split(/\r?\n/);
  let open: { index: number; line: number; label: string; body: string[] } | undefined;
  let strayFrom: number | undefined;
  let count = 0;

  const flushStray = (lineNo: number) => {
    if (strayFrom === undefined) return;
    strayText.push({ line: strayFrom, reason: `non-PEM text outside any block (lines ${strayFrom}-${lineNo - 1})` });
    strayFrom = undefined;
  };

  lines.forEach((raw, i) => {
    const lineNo = i + 1;
    const line = raw.trim();
    const begin = BEGIN.exec(line);
    if (open) {
      const end = END.exec(line);
      if (end) {
        if (end[1] !== open.label) {
          problems.push({ index: open.index, line: open.line, reason: `block "${open.label}" ends with END "${end[1]}"` });
        } else {
          blocks.push({ index: open.index, line: open.line, label: open.label, text: [`-----BEGIN ${open.label}-----`, ...open.body, line].join("\n") });
        }
        open = undefined;
      } else if (begin) {
        problems.push({ index: open.index, line: open.line, reason: `block "${open.label}" is truncated: no END line before the next BEGIN at line ${lineNo}` });
        open = { index: ++count, line: lineNo, label: begin[1]!, body: [] };
      } else {
        open.body.push(line);
      }
      return;
    }
    if (begin) {
      flushStray(lineNo);
      open = { index: ++count, line: lineNo, label: begin[1]!, body: [] };
    } else if (line !== "") {
      strayFrom ??= lineNo;
    } else {
      flushStray(lineNo);
    }
  });
  flushStray(lines.length + 1);
  if (open) problems.push({ index: open.index, line: open.line, reason: `block "${open.label}" is truncated: no END line` });
  return { blocks, problems, strayText };
}
