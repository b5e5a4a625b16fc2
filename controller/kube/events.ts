// Kubernetes Events on the objects users look at. The same Event for the same object is
// recorded at most once per window (default 10 min): a resync that finds the same
// problem writes nothing new, and a problem that comes back after being fixed is
// reported again once the window has passed. Many objects failing for one cause are
// summed up by an EventBatch into one Event per cause per object, with a count.
import * as k8s from "@kubernetes/client-node";
import { log } from "../log.ts";
import { metrics } from "../metrics.ts";
import { CONTROLLER_NAME } from "../names.ts";
import { ConfigError } from "../errors.ts";

export interface EventTarget {
  apiVersion: string;
  kind: string;
  namespace: string;
  name: string;
  uid?: string;
}

type EventType = "Normal" | "Warning";

export const DEFAULT_EVENT_WINDOW_MS = 10 * 60 * 1000;
const MAX_REMEMBERED = 10_000;
/** Items named in an aggregated Event's message; the count covers the rest. */
const MAX_NAMED_ITEMS = 5;

interface EventRecorderOptions {
  /** Identical Events (same object, reason, key) within this window are recorded once. */
  windowMs?: number;
  /** Milliseconds on a monotonic clock; tests pass a fake one. */
  now?: () => number;
  /** Writes one Event; the default creates it through the API (a seam for tests). */
  create?: (namespace: string, event: k8s.CoreV1Event) => Promise<unknown>;
}

interface RecordOptions {
  /** What makes two Events "the same" besides object and reason; default the message. */
  key?: string;
}

export class EventRecorder {
  /** Dedup key → when it was last recorded (on `now()`'s clock). */
  private readonly lastRecorded = new Map<string, number>();
  private readonly windowMs: number;
  private readonly now: () => number;
  private readonly create: (namespace: string, event: k8s.CoreV1Event) => Promise<unknown>;

  constructor(kc: k8s.KubeConfig | undefined, private readonly reportingInstance: string, options: EventRecorderOptions = {}) {
    this.windowMs = options.windowMs ?? DEFAULT_EVENT_WINDOW_MS;
    this.now = options.now ?? (() => performance.now());
    if (options.create) this.create = options.create;
    else {
      if (!kc) throw new ConfigError("EventRecorder needs a KubeConfig or a create function");
      const core = kc.makeApiClient(k8s.CoreV1Api);
      this.create = (namespace, body) => core.createNamespacedEvent({ namespace, body });
    }
  }

  /** Records an Event unless the same one was recorded within the window. True when it was written. */
  /** False once this replica stopped leading; set by the assembly (kube/writer.ts explains why). */
  fence: () => boolean = () => true;

  async record(target: EventTarget, type: EventType, reason: string, message: string, options: RecordOptions = {}): Promise<boolean> {
    const id = `${target.uid ?? `${target.namespace}/${target.kind}/${target.name}`}|${type}|${reason}|${options.key ?? message}`;
    // A replica that stopped leading records nothing (kube/writer.ts \`fence\`): the process is on its way out.
    if (!this.fence()) return false;
    const now = this.now();
    const last = this.lastRecorded.get(id);
    if (last !== undefined && now - last < this.windowMs) return false;
    this.remember(id, now);
    const at = new Date();
    log.info("event", { object: `${target.kind}/${target.namespace}/${target.name}`, type, reason, message });
    metrics.inc("es_mtls_controller_api_writes_total", { verb: "create", resource: "Event" });
    try {
      await this.create(target.namespace, {
        metadata: { generateName: `${target.name}.`, namespace: target.namespace },
        involvedObject: { apiVersion: target.apiVersion, kind: target.kind, namespace: target.namespace, name: target.name, uid: target.uid },
        type,
        reason,
        message: message.slice(0, 1024),
        firstTimestamp: at,
        lastTimestamp: at,
        count: 1,
        source: { component: CONTROLLER_NAME },
        reportingComponent: CONTROLLER_NAME,
        reportingInstance: this.reportingInstance,
      });
      return true;
    } catch (e) {
      // Not written: the next attempt may try again at once.
      if (this.lastRecorded.get(id) === now) this.lastRecorded.delete(id);
      log.warn("recording an event failed", { reason, error: String(e) });
      return false;
    }
  }

  /** Collects many occurrences and records one Event per object, reason and cause (see EventBatch). */
  batch(): EventBatch {
    return new EventBatch(this);
  }

  private remember(id: string, now: number) {
    this.lastRecorded.delete(id); // re-insert: the Map stays ordered oldest first
    this.lastRecorded.set(id, now);
    if (this.lastRecorded.size <= MAX_REMEMBERED) return;
    for (const [key, at] of this.lastRecorded) {
      if (now - at < this.windowMs && this.lastRecorded.size <= MAX_REMEMBERED) break;
      this.lastRecorded.delete(key);
    }
  }
}

interface Group {
  target: EventTarget;
  type: EventType;
  reason: string;
  cause: string;
  items: string[];
}

/**
 * One Event per object, reason and cause instead of one per occurrence: add() each
 * occurrence, then flush(). The message is "<count> <cause>" plus the first few items,
 * e.g. "37 Secret(s) left out: bundle limit reached (prod/a, prod/b, …, and 32 more)".
 * Its dedup key is the cause, so a changing count does not write a new Event within the window.
 */
export class EventBatch {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly recorder: Pick<EventRecorder, "record">) {}

  add(target: EventTarget, type: EventType, reason: string, cause: string, item: string): this {
    const key = `${target.uid ?? `${target.namespace}/${target.kind}/${target.name}`}|${type}|${reason}|${cause}`;
    const group = this.groups.get(key) ?? { target, type, reason, cause, items: [] };
    if (!group.items.includes(item)) group.items.push(item);
    this.groups.set(key, group);
    return this;
  }

  /** Count per cause, e.g. for a status field. */
  counts(): Map<string, number> {
    const out = new Map<string, number>();
    for (const g of this.groups.values()) out.set(g.cause, Math.max(out.get(g.cause) ?? 0, g.items.length));
    return out;
  }

  async flush(): Promise<number> {
    let written = 0;
    for (const g of this.groups.values()) {
      if (await this.recorder.record(g.target, g.type, g.reason, aggregateMessage(g.cause, g.items), { key: `aggregate|${g.cause}` })) written++;
    }
    this.groups.clear();
    return written;
  }
}

export function aggregateMessage(cause: string, items: readonly string[]): string {
  const named = items.slice(0, MAX_NAMED_ITEMS).join(", ");
  const more = items.length > MAX_NAMED_ITEMS ? `, and ${items.length - MAX_NAMED_ITEMS} more` : "";
  return `${items.length} ${cause} (${named}${more})`;
}
