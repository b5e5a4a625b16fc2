// The result of one proof attempt against the local workload, whatever the role.
import type { ProofResult } from "../../protocol/intent.ts";

export interface ProofAttempt {
  ok: boolean;
  withCertificate: ProofResult;
  withoutCertificate: ProofResult;
  detail: string;
}
