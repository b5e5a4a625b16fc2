// Shape and size checks for an agent's status report; the reconciler gets only reports
// that match the protocol, with bounded strings and lists.
import type { ProofResult, StatusReport } from "../../protocol/intent.ts";

const MAX_STATUS_ERRORS = 32;
const MAX_STATUS_STRING = 4096;

const PROOF_RESULTS: readonly ProofResult[] = ["accepted", "refused", "error"];

type StatusParse = { ok: true; report: StatusReport } | { ok: false; reason: string };

export function parseStatusReport(body: unknown): StatusParse {
  const problems: string[] = [];
  const at = (path: string, problem: string) => problems.push(`${path}: ${problem}`);
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  const str = (v: unknown, path: string, optional = false) => {
    if (v === undefined && optional) return;
    if (typeof v !== "string") at(path, "must be a string");
    else if (v.length > MAX_STATUS_STRING) at(path, `longer than ${MAX_STATUS_STRING} characters`);
  };

  if (!isObject(body)) return { ok: false, reason: "status report must be a JSON object" };
  if (!Number.isSafeInteger(body.generation) || (body.generation as number) < 0) at("generation", "must be a non-negative integer");
  if (typeof body.ready !== "boolean") at("ready", "must be a boolean");
  str(body.bundleSha256, "bundleSha256", true);
  str(body.bundleOnDiskSha256, "bundleOnDiskSha256", true);
  if (body.restartRequired !== undefined && typeof body.restartRequired !== "boolean") at("restartRequired", "must be a boolean");
  if (body.certificate !== undefined) {
    if (!isObject(body.certificate)) at("certificate", "must be an object");
    else {
      str(body.certificate.sha256, "certificate.sha256");
      str(body.certificate.notAfter, "certificate.notAfter");
    }
  }
  if (body.proof !== undefined) {
    if (!isObject(body.proof)) at("proof", "must be an object");
    else {
      str(body.proof.checkedAt, "proof.checkedAt");
      str(body.proof.detail, "proof.detail");
      for (const key of ["withCertificate", "withoutCertificate"] as const) {
        if (!PROOF_RESULTS.includes(body.proof[key] as ProofResult)) at(`proof.${key}`, `must be one of ${PROOF_RESULTS.join(", ")}`);
      }
    }
  }
  if (!Array.isArray(body.errors)) at("errors", "must be an array");
  else if (body.errors.length > MAX_STATUS_ERRORS) at("errors", `more than ${MAX_STATUS_ERRORS} entries`);
  else {
    body.errors.forEach((entry: unknown, i: number) => {
      if (!isObject(entry)) return at(`errors[${i}]`, "must be an object");
      str(entry.at, `errors[${i}].at`);
      str(entry.what, `errors[${i}].what`);
      str(entry.detail, `errors[${i}].detail`);
    });
  }
  if (problems.length > 0) return { ok: false, reason: problems.slice(0, 5).join("; ") };
  return { ok: true, report: body as unknown as StatusReport };
}
