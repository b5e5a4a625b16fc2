// A tiny Prometheus registry: counters and gauges with labels, rendered as text.
type Labels = Record<string, string>;

function render(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

class Registry {
  private readonly series = new Map<string, Map<string, number>>();
  private readonly types = new Map<string, "counter" | "gauge">();
  private readonly help = new Map<string, string>();

  describe(name: string, type: "counter" | "gauge", help: string) {
    this.types.set(name, type);
    this.help.set(name, help);
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
