// An Elasticsearch nodeSet's `config`, as Elasticsearch reads it. ECK accepts both spellings of a
// setting (`a.b.c: x` and `a: {b: {c: x}}`, and mixes of them) and renders one elasticsearch.yml
// from either, so a rule that reads a setting must read both.
import { ES_STATEFULSET_LABEL } from "../names.ts";
import type { Elasticsearch } from "../resources.ts";

type NodeSet = NonNullable<NonNullable<Elasticsearch["spec"]>["nodeSets"]>[number];

/** Every setting of `config` under its dotted name (nested objects flattened; arrays are values). */
export function flatSettings(config: Record<string, unknown> | undefined): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (prefix: string, value: unknown) => {
    if (value && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(prefix ? `${prefix}.${k}` : k, v);
    } else if (prefix) out.set(prefix, value);
  };
  walk("", config ?? {});
  return out;
}

/** The nodeSet an ECK-layout pod belongs to, from its StatefulSet label (`<es>-es-<nodeSet>`). */
export function nodeSetOfPod(es: Elasticsearch | undefined, podLabels: Record<string, string>): NodeSet | undefined {
  const name = es?.metadata?.name;
  const sts = podLabels[ES_STATEFULSET_LABEL];
  if (!name || !sts) return undefined;
  return es?.spec?.nodeSets?.find((n) => sts === `${name}-es-${n.name}`);
}
