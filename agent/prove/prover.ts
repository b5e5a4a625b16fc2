// The prover collaborator: one attempt at proving that the local workload loaded what
// is on disk, by role (elasticsearch.ts: handshakes; kibana.ts: start time against the
// identity history). The retry/re-check schedule lives in proof-loop.ts.
import * as fsp from "node:fs/promises";
import type { Intent, Role } from "../../protocol/intent.ts";
import { isExpired } from "../../common/pem.ts";
import { errorMessage } from "../log.ts";
import type { Material, PodIdentity } from "../material/material.ts";
import type { ProofAttempt } from "./attempt.ts";
import { proveElasticsearchOnce } from "./elasticsearch.ts";
import { KibanaProof, kibanaStatus } from "./kibana.ts";

export type { ProofAttempt };

export interface Prover {
  proveOnce(intent: Intent, material: Material): Promise<ProofAttempt>;
  /** An identity reached the disk; `replaced`: it took the place of an earlier one. */
  noteIdentity(id: PodIdentity, replaced: boolean): void;
  /** Kibana only: the running process presents an older identity than the one on disk. */
  readonly restartRequired: boolean;
}

interface WorkloadProverOptions {
  role: Role;
  probeUrl: string;
  /** Local path of the PEM that verifies the workload's serving certificate; unset: not verified (loopback). */
  probeCaFile?: string;
  proofTimeoutMs: number;
}

export class WorkloadProver implements Prover {
  private readonly kibana = new KibanaProof();

  constructor(private readonly opts: WorkloadProverOptions) {}

  get restartRequired(): boolean {
    return this.kibana.restartRequired;
  }

  noteIdentity(id: PodIdentity, replaced: boolean): void {
    this.kibana.noteIdentity(id, replaced && this.opts.role === "kibana");
  }

  async proveOnce(intent: Intent, material: Material): Promise<ProofAttempt> {
    const ca = this.opts.probeCaFile ? await fsp.readFile(this.opts.probeCaFile, "utf8").catch(() => undefined) : undefined;
    const timeout = Math.min(5000, this.opts.proofTimeoutMs);
    if (intent.role === "elasticsearch") {
      // An expired proof identity (the controller out of reach past its 2 h) is not presented:
      // Elasticsearch would refuse it, which says nothing about what the pod serves.
      const id = material.identity && !isExpired(material.identity.leaf.notAfter, new Date()) ? material.identity : undefined;
      return proveElasticsearchOnce({
        url: this.opts.probeUrl,
        ...(ca ? { ca } : {}),
        ...(id ? { cert: id.certPem, key: id.keyPem } : {}),
        enforcement: intent.enforcement,
        attemptTimeoutMs: timeout,
      });
    }
    let st: Awaited<ReturnType<typeof kibanaStatus>>;
    try {
      st = await kibanaStatus(this.opts.probeUrl, ca, timeout);
    } catch (e) {
      return { ok: false, withCertificate: "error", withoutCertificate: "error", detail: errorMessage(e) };
    }
    return this.kibana.judge(st, intent, material.identity);
  }
}
