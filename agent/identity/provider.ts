// The identity collaborator: which certificate and key the pod presents for an intent.
// Managed: the current one while it fits the intent and is not due for renewal, else a
// new key, a CSR, and the controller's answer checked against that key. User-provided:
// the mounted secret's files, validated. Failures are IdentityErrors or PemErrors.
import * as fsp from "node:fs/promises";
import { join } from "node:path";
import { sha256Hex } from "../../common/digest.ts";
import { encodePem, isExpired } from "../../common/pem.ts";
import { PATHS, type CertificateResponse, type Intent, type ManagedIdentity, type SelfSignedIdentity } from "../../protocol/intent.ts";
import type { ControllerClient } from "../controller-client.ts";
import { IdentityError, PemError } from "../errors.ts";
import { errorMessage, logger } from "../log.ts";
import { readCertificate } from "../material/certificate.ts";
import type { PodIdentity } from "../material/material.ts";
import { validateBundle, validateCertificate, validateKeyPair } from "../material/pem.ts";
import type { Metrics } from "../report/metrics.ts";
import { CLIENT_AUTH_OID } from "./client-leaf.ts";
import { createCsr } from "./csr.ts";
import { generateKey, keyAlgorithmOf, subjectMatches } from "./key.ts";
import { selfSign } from "./self-signed.ts";
import { renewalAfterIssue, renewalTime } from "./schedule.ts";

export interface IdentitySource {
  /** The identity `intent` asks for (undefined: none); `current` is what is on disk. */
  resolve(intent: Intent, current: PodIdentity | undefined): Promise<PodIdentity | undefined>;
}

interface ControllerIdentityOptions {
  requestTimeoutMs: number;
  /** Maps a path of the pod's filesystem to where it is here (--root). */
  local(path: string): string;
}

export class ControllerIdentity implements IdentitySource {
  constructor(
    private readonly client: Pick<ControllerClient, "postJson">,
    private readonly metrics: Metrics,
    private readonly opts: ControllerIdentityOptions,
  ) {}

  async resolve(i: Intent, current: PodIdentity | undefined): Promise<PodIdentity | undefined> {
    const id = i.identity;
    if (!id) return undefined;
    if (id.source === "userProvided") return this.userProvided(this.opts.local(id.mountPath), current);
    if (id.source === "selfSigned") return selfSigned(id, current);
    if (id.source !== "managed") throw new IdentityError(`identity source "${(id as { source: string }).source}" is unknown`);
    if (current && reusable(current, id)) {
      current.renewAt ??= renewalTime(current.leaf.notBefore, current.leaf.notAfter, id.renewAtFraction);
      if (current.renewAt.getTime() > Date.now()) return current;
    }
    return this.issue(i, id);
  }

  private async userProvided(dir: string, current: PodIdentity | undefined): Promise<PodIdentity> {
    const read = (name: string) =>
      fsp.readFile(join(dir, name), "utf8").catch((e: unknown) => {
        throw new IdentityError(`user-provided identity: cannot read ${join(dir, name)}: ${errorMessage(e)}`, { cause: e });
      });
    const certPem = await read("tls.crt");
    const keyPem = await read("tls.key");
    const leaf = validateCertificate(certPem, `user-provided certificate ${join(dir, "tls.crt")}`);
    validateKeyPair(leaf, keyPem, `user-provided key ${join(dir, "tls.key")}`);
    const sha = sha256Hex(certPem);
    if (current?.sha256 === sha && current.keyPem === keyPem) return current;
    return { certPem, keyPem, leaf, sha256: sha, writtenAt: Date.now() };
  }

  /** A new key, a CSR, the controller's answer checked against that key. */
  private async issue(i: Intent, id: ManagedIdentity): Promise<PodIdentity> {
    const issuedAt = new Date();
    const key = await generateKey(id.keyAlgorithm);
    const csr = await createCsr(key, id.subject);
    let res: CertificateResponse | undefined;
    try {
      res = await this.client.postJson<CertificateResponse>(PATHS.certificate, { generation: i.generation, csr }, this.opts.requestTimeoutMs);
    } catch (e) {
      this.metrics.renewals.inc({ result: "error" });
      throw new IdentityError(`certificate request for generation ${i.generation}: ${errorMessage(e)}`, { cause: e });
    }
    try {
      if (!res || typeof res.certificate !== "string") throw new PemError("certificate response has no certificate");
      const leaf = validateCertificate(res.certificate, "certificate from the controller");
      validateKeyPair(leaf, key.pkcs8Pem, "certificate from the controller");
      if (!subjectMatches(leaf, id.subject)) throw new PemError(`certificate from the controller: subject "${leaf.subject}" is not the requested one`);
      const eku = leaf.extendedKeyUsage;
      if (eku && !eku.includes(CLIENT_AUTH_OID)) throw new PemError("certificate from the controller: extended key usage lacks clientAuth");
      let certPem = encodePem(leaf.der, "CERTIFICATE") + "\n";
      if (res.chain && res.chain.trim()) {
        validateBundle(res.chain, "chain from the controller");
        certPem += res.chain.trim() + "\n";
      }
      this.metrics.renewals.inc({ result: "success" });
      logger.info("certificate issued", { subject: leaf.subject, notAfter: leaf.notAfter.toISOString(), serial: leaf.serialNumber });
      return {
        certPem,
        keyPem: key.pkcs8Pem,
        leaf,
        sha256: sha256Hex(certPem),
        renewAt: renewalAfterIssue(leaf.notBefore, leaf.notAfter, issuedAt, id.renewAtFraction),
        writtenAt: Date.now(),
      };
    } catch (e) {
      this.metrics.renewals.inc({ result: "refused" });
      throw e;
    }
  }
}

function reusable(cur: PodIdentity, id: ManagedIdentity): boolean {
  return subjectMatches(cur.leaf, id.subject) && keyAlgorithmOf(cur.leaf) === id.keyAlgorithm && !isExpired(cur.leaf.notAfter, new Date());
}

/** Made in the pod, trusted by nobody; kept while it fits the intent and has a third of its life left. */
async function selfSigned(id: SelfSignedIdentity, current: PodIdentity | undefined): Promise<PodIdentity> {
  if (current && subjectMatches(current.leaf, id.subject) && keyAlgorithmOf(current.leaf) === id.keyAlgorithm && current.leaf.selfIssued) {
    const life = current.leaf.notAfter.getTime() - current.leaf.notBefore.getTime();
    current.renewAt ??= new Date(current.leaf.notBefore.getTime() + (life * 2) / 3);
    if (current.renewAt.getTime() > Date.now()) return current;
  }
  const key = await generateKey(id.keyAlgorithm);
  const der = await selfSign(key, id.subject, id.validitySeconds);
  const certPem = encodePem(der, "CERTIFICATE") + "\n";
  const leaf = readCertificate(der);
  logger.info("self-signed identity made", { subject: leaf.subject, notAfter: leaf.notAfter.toISOString() });
  const renewAt = new Date(leaf.notBefore.getTime() + ((leaf.notAfter.getTime() - leaf.notBefore.getTime()) * 2) / 3);
  return { certPem, keyPem: key.pkcs8Pem, leaf, sha256: sha256Hex(certPem), renewAt, writtenAt: Date.now() };
}
