// What the cluster reconciler works with, as the narrowest interfaces it uses, so a unit test
// can hand it fakes (test/controller/cluster-pipeline.test.ts) and main.ts the real things.
import type { V1Secret } from "@kubernetes/client-node";
import type { CacheViews } from "../kube/informers.ts";
import type { Writer } from "../kube/writer.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { IntentStore } from "../intent-api/intent-store.ts";
import type { ReportStore } from "./reports.ts";
import type { PkiSettings } from "./cluster-pki.ts";

export type ClusterWriter = Pick<Writer, "fresh" | "apply" | "mergePatch" | "applyStatus" | "createSecret" | "replaceSecret" | "evict" | "deleteSecret">;
export type EventSink = Pick<EventRecorder, "record">;
export type IntentSink = Pick<IntentStore, "get" | "set" | "remove">;
export type ReportSource = Pick<ReportStore, "get" | "seed">;

/**
 * Reads a Secret the caches do not hold (a Kibana's clientCertificateSecretName: the controller
 * does not cache every Secret in the cluster). Undefined when it does not exist; throws otherwise.
 */
export type SecretReader = (namespace: string, name: string) => Promise<V1Secret | undefined>;

export interface ReconcilerDeps {
  caches: CacheViews;
  writer: ClusterWriter;
  events: EventSink;
  intents: IntentSink;
  reports: ReportSource;
  readUserSecret: SecretReader;
  pki: PkiSettings;
  resyncMs: number;
}
