// A tiny Prometheus registry: counters, gauges and histograms with labels, rendered as text.
type Labels = Record<string, string>;

function render(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Registry {
  private readonly series = new Map<string, Map<string, number>>();
  private readonly types = new Map<string, "counter" | "gauge" | "histogram">();
  private readonly help = new Map<string, string>();
  /** Per histogram: its upper bounds, and per label set the cumulative counts, sum and count. */
  private readonly histograms = new Map<string, { bounds: number[]; series: Map<string, { labels: Labels; counts: number[]; sum: number; count: number }> }>();

  describe(name: string, type: "counter" | "gauge", help: string) {
    this.types.set(name, type);
    this.help.set(name, help);
  }

  describeHistogram(name: string, help: string, bounds: number[]) {
    this.types.set(name, "histogram");
    this.help.set(name, help);
    this.histograms.set(name, { bounds, series: new Map() });
  }

  observe(name: string, labels: Labels, value: number) {
    const h = this.histograms.get(name);
    if (!h) throw new Error(`histogram ${name} is not described`);
    const k = render(labels);
    let s = h.series.get(k);
    if (!s) h.series.set(k, (s = { labels, counts: h.bounds.map(() => 0), sum: 0, count: 0 }));
    for (let i = 0; i < h.bounds.length; i++) if (value <= h.bounds[i]!) s.counts[i]!++;
    s.sum += value;
    s.count++;
  }

  inc(name: string, labels: Labels = {}, by = 1) {
    const m = this.series.get(name) ?? new Map<string, number>();
    this.series.set(name, m);
    const k = render(labels);
    m.set(k, (m.get(k) ?? 0) + by);
  }

  set(name: string, labels: Labels, value: number) {
    const m = this.series.get(name) ?? new Map<string, number>();
    this.series.set(name, m);
    m.set(render(labels), value);
  }

  /** Sum of a metric over all label sets matching `filter`. */
  total(name: string, filter: (labels: string) => boolean = () => true): number {
    let sum = 0;
    for (const [k, v] of this.series.get(name) ?? []) if (filter(k)) sum += v;
    return sum;
  }

  text(): string {
    const out: string[] = [];
    for (const [name, m] of this.series) {
      if (this.help.has(name)) out.push(`# HELP ${name} ${this.help.get(name)}`);
      out.push(`# TYPE ${name} ${this.types.get(name) ?? "untyped"}`);
      for (const [labels, v] of m) out.push(`${name}${labels} ${v}`);
    }
    for (const [name, h] of this.histograms) {
      if (h.series.size === 0) continue;
      out.push(`# HELP ${name} ${this.help.get(name)}`, `# TYPE ${name} histogram`);
      for (const s of h.series.values()) {
        h.bounds.forEach((b, i) => out.push(`${name}_bucket${render({ ...s.labels, le: String(b) })} ${s.counts[i]}`));
        out.push(`${name}_bucket${render({ ...s.labels, le: "+Inf" })} ${s.count}`, `${name}_sum${render(s.labels)} ${s.sum}`, `${name}_count${render(s.labels)} ${s.count}`);
      }
    }
    return out.join("\n") + "\n";
  }
}

export const metrics = new Registry();
metrics.describe("es_mtls_controller_api_writes_total", "counter", "Write requests to the kube-apiserver by verb and resource");
metrics.describe("es_mtls_controller_reconciles_total", "counter", "Cluster reconciles by result");
metrics.describe("es_mtls_controller_elasticsearch_crd_client_authentication", "gauge", "1 when the installed Elasticsearch CRD keeps spec.http.tls.client (0: the field is pruned or the CRD is missing)");
metrics.describe("es_mtls_controller_leader", "gauge", "1 while this replica holds the Lease");
metrics.describe("es_mtls_controller_trust_bundle_certificates", "gauge", "Certificates in a cluster's trust bundle");
metrics.describe("es_mtls_controller_client_ca_expiry_timestamp_seconds", "gauge", "When a cluster's client CA expires");
/** Seconds, from 1 ms to 1 min: a change's wait in the queue and a reconcile's run. */
const SECONDS_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
metrics.describeHistogram("es_mtls_controller_reconcile_queue_wait_seconds", "From a cluster key queued to its reconcile started, by lane (change: a watch event or a timer; resync: the periodic re-check)", SECONDS_BUCKETS);
metrics.describeHistogram("es_mtls_controller_reconcile_duration_seconds", "A cluster's reconcile, start to end, by the lane it was queued in", SECONDS_BUCKETS);
