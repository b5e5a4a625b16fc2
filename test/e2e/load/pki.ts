// What the renewal and CA-rotation transitions look at: the agents' own reports of the
// certificates they were issued (their "certificate issued" log lines, one per issuance, with the
// serial), and the client trust bundle each Elasticsearch pod has on disk (what its ES loads).
import { readFileSync } from "node:fs";
import { x509 } from "../../../common/x509.ts";
import { ES_BUNDLE_DIR, ES_BUNDLE_FILE } from "../../../controller/names.ts";
import { NS, type Lifecycle } from "../lifecycle/cluster.ts";

/** Every issuance the agent(s) of pod `uid` logged: serial and when. */
export function issuances(lc: Lifecycle, uid: string): Array<{ serial: string; at: number }> {
  return lc.agents
    .filter((a) => a.uid === uid)
    .flatMap((a) => a.agent.logs)
    .filter((l) => l.msg === "certificate issued")
    .map((l) => ({ serial: String((l as Record<string, unknown>).serial), at: Date.parse(String(l.ts)) }));
}

export function certsIn(pem: string): x509.X509Certificate[] {
  return (pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g) ?? []).map((b) => new x509.X509Certificate(b));
}

/** The client trust bundle on each ES pod's disk (the file its ES re-reads), by pod name. */
export function bundlesOnDisk(lc: Lifecycle, pods: string[]): Map<string, x509.X509Certificate[]> {
  const out = new Map<string, x509.X509Certificate[]>();
  for (const name of pods) {
    const local = lc.node?.pod(NS, name);
    try {
      out.set(name, local ? certsIn(readFileSync(local.hostPath("elasticsearch", `${ES_BUNDLE_DIR}/${ES_BUNDLE_FILE}`), "utf8")) : []);
    } catch {
      out.set(name, []); // not written yet
    }
  }
  return out;
}

/** True when `leafPem`'s signature verifies with `ca`'s key: `ca` issued it. */
export async function signedBy(leafPem: string, ca: x509.X509Certificate): Promise<boolean> {
  const leaf = new x509.X509Certificate(leafPem);
  if (leaf.issuer !== ca.subject) return false;
  return leaf.verify({ publicKey: ca.publicKey, signatureOnly: true }).catch(() => false);
}

/** Which of `cas` issued `leafPem` (undefined: none of them). */
export async function issuerAmong(leafPem: string, cas: x509.X509Certificate[]): Promise<x509.X509Certificate | undefined> {
  for (const ca of cas) if (await signedBy(leafPem, ca)) return ca;
  return undefined;
}

export const sameCert = (a: x509.X509Certificate, b: x509.X509Certificate) => a.serialNumber === b.serialNumber && a.subject === b.subject;
