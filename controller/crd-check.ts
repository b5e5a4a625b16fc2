// Reads what the installed Elasticsearch CRD allows (kube/crd-support.ts), at start and on every
// resync: a metric, a log line on each change, and the latest answer for /readyz.
import type * as k8s from "@kubernetes/client-node";
import { readCrdSupport, type CrdSupport } from "./kube/crd-support.ts";
import { log } from "./log.ts";
import { metrics } from "./metrics.ts";

interface CrdCheck {
  /** Undefined until first read. */
  readonly current: CrdSupport | undefined;
  /** Reads the CRD once; a failed read is logged, never thrown. */
  check(): Promise<void>;
}

export function crdCheck(apiextensions: k8s.ApiextensionsV1Api): CrdCheck {
  let crd: CrdSupport | undefined;
  async function read() {
    const now = await readCrdSupport(apiextensions);
    metrics.set("es_mtls_controller_elasticsearch_crd_client_authentication", {}, now.supported ? 1 : 0);
    // Said once per change, not on every resync.
    if (now.detail !== crd?.detail) (now.supported ? log.info : log.warn)("elasticsearch CRD", { supported: now.supported, detail: now.detail });
    crd = now;
  }
  return {
    get current() {
      return crd;
    },
    check: () => read().catch((e) => log.warn("reading the Elasticsearch CRD failed", { error: String(e) })),
  };
}
