// What the cluster reconciler works with, as the narrowest interfaces it uses, so a unit test
// can hand it fakes (test/controller/reconcile/cluster-pipeline.test.ts) and assemble.ts the real things.
import type { CacheViews } from "../kube/informers.ts";
import type { Writer } from "../kube/writer.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { IntentStore } from "../intent-api/intent-store.ts";
import type { ReportStore } from "./reports.ts";
import type { PkiSettings } from "./cluster-pki.ts";
import type { SecretReader } from "../kube/secret-reader.ts";
import type { OwnerLookup } from "../trust/sources.ts";
import type { ReplicaReader } from "../kube/replica-reader.ts";
import type { ReferenceAuthorizer } from "../kube/reference-authorizer.ts";
import type { ClusterHealthReader } from "../kube/es-health.ts";
import type { CrdSupport } from "../kube/crd-support.ts";

export type { SecretReader } from "../kube/secret-reader.ts";

export type ClusterWriter = Pick<Writer, "fresh" | "apply" | "mergePatch" | "applyStatus" | "createSecret" | "replaceSecret" | "evict" | "deleteSecret"> & Partial<Pick<Writer, "revision">>;
export type EventSink = Pick<EventRecorder, "record">;
export type IntentSink = Pick<IntentStore, "get" | "set" | "offer" | "remove" | "withdrawExcept">;
export type ReportSource = Pick<ReportStore, "get" | "seed">;

export interface ReconcilerDeps {
  caches: CacheViews;
  writer: ClusterWriter;
  events: EventSink;
  intents: IntentSink;
  reports: ReportSource & Pick<ReportStore, "bundleSince">;
  /** A Kibana's own client certificate Secret (not cached): kube/secret-reader.ts, or a fake. */
  readUserSecret: SecretReader;
  /** Any Secret by name, uncached (a managed name taken by an unlabelled object is invisible to the caches). */
  readSecret: SecretReader;
  /** Verifies owners of ECK kinds the controller does not cache (Agent, Beat, Logstash, …): kube/owner-lookup.ts, or a fake. */
  ownerLookup: OwnerLookup;
  /** Whether a reference from another namespace counts (kube/reference-authorizer.ts), or a fake. */
  references: ReferenceAuthorizer;
  /** Desired replicas of a pod's controller (kube/replica-reader.ts), or a fake. */
  readReplicas: ReplicaReader;
  /** Elasticsearch's own `/_cluster/health` (kube/es-health.ts), or a fake; undefined: evictions are not gated on it (--es-health-gate=false). */
  clusterHealth?: ClusterHealthReader | undefined;
  /** The installed Elasticsearch CRD, as last read (crd-check.ts); undefined before the first read. */
  elasticsearchCrd: () => CrdSupport | undefined;
  pki: PkiSettings;
  resyncMs: number;
}
