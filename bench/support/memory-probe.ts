// Preloaded into the controller by bench/controller-memory.ts (`bun --preload`), never shipped: on
// SIGUSR2 it collects garbage (Bun.gc(true)) and appends one JSON line to $ES_MTLS_MEMORY_PROBE_OUT
// with the RSS and JSC's heap figures, so the bench can tell live objects from memory the
// allocator keeps after a collection. With $ES_MTLS_MEMORY_PROBE_SAMPLE_MS it also appends, that
// often and without collecting, the RSS, the JS heap in use and committed, and mimalloc's committed
// bytes (native allocations), so a peak can be attributed. With $ES_MTLS_MEMORY_PROBE_SNAPSHOT (a
// path), each SIGUSR2 also writes a V8-format heap snapshot there after the collection (open it in
// Chrome's DevTools, or summarise it with bench/support/heap-snapshot-summary.ts) to attribute what
// is live by retainer. Nothing it loads is new to the process.
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { heapStats, memoryUsage } from "bun:jsc";

const out = process.env.ES_MTLS_MEMORY_PROBE_OUT;
const mib = (n: number) => Math.round((n / 1024 / 1024) * 10) / 10;
const status = (field: string) => Math.round(Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync("/proc/self/status", "utf8"))?.[1] ?? NaN) / 1024);

if (out) {
  process.on("SIGUSR2", () => {
    const rssBeforeGcMiB = status("VmRSS");
    Bun.gc(true);
    const h = heapStats();
    const m = process.memoryUsage();
    const top = Object.entries(h.objectTypeCounts).sort((a, b) => b[1] - a[1]).slice(0, 12);
    const snapshot = process.env.ES_MTLS_MEMORY_PROBE_SNAPSHOT;
    if (snapshot) writeFileSync(snapshot, Bun.generateHeapSnapshot("v8"));
    appendFileSync(out, JSON.stringify({ rssBeforeGcMiB, rssAfterGcMiB: status("VmRSS"), heapSizeMiB: mib(h.heapSize), heapCapacityMiB: mib(h.heapCapacity), extraMemoryMiB: mib(h.extraMemorySize), objects: h.objectCount, externalMiB: mib(m.external), arrayBuffersMiB: mib(m.arrayBuffers), topObjectTypes: Object.fromEntries(top) }) + "\n");
  });
}

const sampleMs = Number(process.env.ES_MTLS_MEMORY_PROBE_SAMPLE_MS ?? 0);
if (out && sampleMs > 0) {
  setInterval(() => {
    const m = process.memoryUsage();
    appendFileSync(out, JSON.stringify({ sample: Date.now(), rssMiB: status("VmRSS"), heapUsedMiB: mib(m.heapUsed), heapTotalMiB: mib(m.heapTotal), nativeCommitMiB: mib(memoryUsage().currentCommit) }) + "\n");
  }, sampleMs).unref();
}
