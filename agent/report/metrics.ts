// Counters and gauges exposed at /metrics in the Prometheus text format. Kept as a
// tiny hand-written registry: a handful of series does not justify a dependency.

type Labels = Record<string, string>;

class Counter {
  private values = new Map<string, number>();
  constructor(readonly name: string, readonly help: string) {}
  inc(labels: Labels = {}, by = 1): void {
    const k = JSON.stringify(labels);
    this.values.set(k, (this.values.get(k) ?? 0) + by);
  }
  get(labels: Labels = {}): number {
    return this.values.get(JSON.stringify(labels)) ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} counter`];
    if (this.values.size === 0) lines.push(`${this.name} 0`);
    for (const [k, v] of this.values) lines.push(`${this.name}${fmt(JSON.parse(k) as Labels)} ${v}`);
    return lines.join("\n");
  }
}

function fmt(l: Labels): string {
  const parts = Object.entries(l).map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`);
  return parts.length ? `{${parts.join(",")}}` : "";
}

export class Metrics {
  readonly renewals = new Counter("es_mtls_agent_certificate_renewals_total", "Certificate issuances (initial and renewals) by result.");
  readonly writes = new Counter("es_mtls_agent_writes_total", "Atomic write attempts of the file set by result (written, unchanged, error).");
  readonly proofs = new Counter("es_mtls_agent_proofs_total", "Completed proofs against the local workload by result (success, failure).");
  readonly reconnects = new Counter("es_mtls_agent_stream_reconnects_total", "Intent stream disconnects followed by a reconnect attempt.");
  readonly refusedIntents = new Counter("es_mtls_agent_refused_intents_total", "Intents or stream lines refused as invalid.");
  readonly droppedBundleEntries = new Counter("es_mtls_agent_trust_bundle_dropped_certificates_total", "Expired certificates left out of an intent's trust bundle when it was written.");

  render(g: { certNotAfter?: Date; bundleSha256?: string; generation: number; ready: boolean; connected: boolean }): string {
    const gauges: string[] = [];
    const gauge = (name: string, help: string, value: number, labels: Labels = {}) =>
      gauges.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, `${name}${fmt(labels)} ${value}`);
    if (g.certNotAfter) gauge("es_mtls_agent_certificate_expiration_timestamp_seconds", "notAfter of the client certificate on disk, Unix seconds.", Math.floor(g.certNotAfter.getTime() / 1000));
    gauge("es_mtls_agent_intent_generation", "Generation of the last applied intent.", g.generation);
    gauge("es_mtls_agent_ready", "1 when /readyz answers 200.", g.ready ? 1 : 0);
    gauge("es_mtls_agent_stream_connected", "1 while the intent stream is connected.", g.connected ? 1 : 0);
    if (g.bundleSha256) gauge("es_mtls_agent_trust_bundle_info", "Hash of the trust bundle on disk.", 1, { sha256: g.bundleSha256 });
    return [this.renewals, this.writes, this.proofs, this.reconnects, this.refusedIntents, this.droppedBundleEntries].map((c) => c.render()).concat(gauges).join("\n") + "\n";
  }
}
